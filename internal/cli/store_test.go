package cli

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// store prune --dry-run counts and deletes nothing; audit export writes the
// prefix pruning would take, after its checkpoint line; store prune then
// deletes it and audit verify checks the rest from the checkpoint; usage
// still sums the pruned rows from the rollups.
func TestStorePruneExportVerify(t *testing.T) {
	fx := newOpFixture(t)
	seedAudit(t, fx, 10) // day1 + 0..9 minutes
	seedUsage(t, fx)
	before, _, err := opRun(t, "usage", "--config", fx.cfgPath, "--since", "2026-10-01", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\n" +
		"metering:\n  retention: { usage: 2h, audit: 1d }\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := opRun(t, "store", "prune", "--dry-run", "--json", "--config", fx.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var res []struct {
		Kind   string
		Before time.Time
		Rows   int64
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := map[string]int64{}
	for _, r := range res {
		got[r.Kind] = r.Rows
		// Usage goes whole hours at a time: the cut-off printed is
		// the one pruned to, not the retention's exact instant.
		unit := map[string]time.Duration{"usage": time.Hour, "rollup_minute": time.Minute, "rollup_hourly": time.Hour}[r.Kind]
		if unit > 0 && !r.Before.Equal(r.Before.Truncate(unit)) {
			t.Errorf("%s cut-off %s is not the whole %s it is pruned to", r.Kind, r.Before, unit)
		}
	}
	if got["audit"] != 10 || got["usage"] != 7 {
		t.Fatalf("dry run = %v, want 10 audit rows and 7 usage rows", got)
	}
	st := fx.store(t)
	if rows, _ := st.Audit(context.Background(), store.AuditFilter{}); len(rows) != 10 {
		t.Fatalf("dry run deleted audit rows: %d left", len(rows))
	}
	st.Close()

	out, _, err = opRun(t, "audit", "export", "--until", "2026-11-01T10:04:30Z", "--config", fx.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 6 || lines[0] != `{"checkpoint":null}` || !strings.Contains(lines[5], `"seq":5`) {
		t.Fatalf("export = %q, want the checkpoint line and seqs 1-5", lines)
	}

	if _, _, err := opRun(t, "store", "prune", "--config", fx.cfgPath); err != nil {
		t.Fatal(err)
	}
	out, _, err = opRun(t, "audit", "verify", "--config", fx.cfgPath)
	if err != nil || !strings.HasPrefix(out, "ok: 0 records") {
		t.Fatalf("verify after pruning everything: %v\n%s", err, out)
	}
	after, _, err := opRun(t, "usage", "--config", fx.cfgPath, "--since", "2026-10-01", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("usage changed by pruning raw rows:\nbefore %s\nafter  %s", before, after)
	}
	st = fx.store(t)
	defer st.Close()
	if recs, _ := st.Usage(context.Background(), store.UsageFilter{}); len(recs) != 0 {
		t.Errorf("%d raw usage rows left", len(recs))
	}
}

// A series of archives, each exported with --after-seq from where the one
// before ended, holds every pruned row once: audit verify --archive checks
// each one, that each follows the one before, and with --config that the
// store goes on from the last; a gap, a missing archive, an edited or
// re-ordered row and an edited checkpoint line are each reported.
func TestAuditArchiveSeries(t *testing.T) {
	fx := newOpFixture(t)
	seedAudit(t, fx, 10) // day1 + 0..9 minutes
	dir := t.TempDir()
	export := func(name string, args ...string) string {
		t.Helper()
		out, stderr, err := opRun(t, append([]string{"audit", "export", "--config", fx.cfgPath}, args...)...)
		if err != nil {
			t.Fatalf("export %v: %v\n%s", args, err, stderr)
		}
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a1 := export("a1", "--until", "2026-11-01T10:03:30Z")                     // seqs 1-4
	a2 := export("a2", "--until", "2026-11-01T10:06:30Z", "--after-seq", "4") // 5-7
	a3 := export("a3", "--until", "2026-11-02", "--after-seq", "7")           // 8-10
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\nmetering:\n  retention: { audit: 1d }\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := opRun(t, "store", "prune", "--config", fx.cfgPath); err != nil {
		t.Fatal(err)
	}
	out, _, err := opRun(t, "audit", "verify", "--archive", a1, "--archive", a2, "--archive", a3, "--config", fx.cfgPath)
	if err != nil {
		t.Fatalf("verify the whole series: %v\n%s", err, out)
	}
	for _, want := range []string{a1 + ": ok: 4 records from seq 1", a2 + ": ok: 3 records from checkpoint seq 4",
		a3 + ": ends at seq 10", "from checkpoint: seq 10", "the store goes on from the archives (seq 10)"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify printed\n%s\nwant a line with %q", out, want)
		}
	}
	if _, _, err := opRun(t, "audit", "export", "--config", fx.cfgPath, "--until", "2026-11-02", "--after-seq", "3"); err == nil ||
		!strings.Contains(err.Error(), "pruned already") {
		t.Errorf("export after pruned rows: err = %v, want pruned already", err)
	}

	edit := func(name, path string, fn func([]string) []string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := fn(strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"))
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	edited := edit("edited", a2, func(l []string) []string {
		l[2] = strings.Replace(l[2], `"outcome":"200"`, `"outcome":"403"`, 1)
		return l
	})
	swapped := edit("swapped", a1, func(l []string) []string { l[2], l[3] = l[3], l[2]; return l })
	dropped := edit("dropped", a1, func(l []string) []string { return append(l[:2], l[3:]...) })
	badCP := edit("badcp", a2, func(l []string) []string { l[0] = strings.Replace(l[0], `"seq":4`, `"seq":3`, 1); return l })
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"gap before the store", []string{"--archive", a1, "--archive", a2, "--config", fx.cfgPath}, "seqs 8 to 10 are in neither"},
		{"an archive missing", []string{"--archive", a1, "--archive", a3}, "previous one ends at seq 4"},
		{"an edited row", []string{"--archive", a1, "--archive", edited}, "does not match its hash"},
		{"rows re-ordered", []string{"--archive", swapped}, "follows seq"},
		{"a row deleted", []string{"--archive", dropped}, "follows seq"},
		{"an edited checkpoint", []string{"--archive", badCP}, "the archive's checkpoint is seq 3"},
		{"not an export", []string{"--archive", fx.cfgPath}, "not an audit export"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := opRun(t, append([]string{"audit", "verify"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("verify: err = %v, want %q\n%s", err, tt.want, out)
			}
		})
	}
}

// failWriter fails every write, as stdout on a full disk or a closed pipe.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A command whose result could not be written exits non-zero, saying so:
// an "ok" nobody could read is no verification, and a prune's counts are
// its result.
func TestReportWriteFailureIsAnError(t *testing.T) {
	fx := newOpFixture(t)
	seedAudit(t, fx, 3)
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\nmetering:\n  retention: { audit: 1d }\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"audit", "verify", "--config", fx.cfgPath},
		{"store", "prune", "--dry-run", "--config", fx.cfgPath},
		{"store", "prune", "--dry-run", "--json", "--config", fx.cfgPath},
	} {
		var errb bytes.Buffer
		err := Main(context.Background(), args, failWriter{}, &errb)
		if err == nil || !strings.Contains(err.Error(), "writing the result") {
			t.Errorf("%v with stdout failing: err = %v, want one about writing the result", args, err)
		}
	}
}

// With every kind kept for ever, store prune says there is nothing to do
// rather than print an empty table.
func TestStorePruneNothingToPrune(t *testing.T) {
	fx := newOpFixture(t)
	seedAudit(t, fx, 1)
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\n" +
		"metering:\n  retention: { usage: 0, minute_rollups: 0, hourly_rollups: 0, conversations: 0 }\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := opRun(t, "store", "prune", "--config", fx.cfgPath)
	if err != nil || !strings.Contains(stderr, "nothing to prune") {
		t.Errorf("store prune with nothing to prune: err = %v, stderr %q", err, stderr)
	}
}

// A SQLite file created before incremental vacuum was the default never
// shrank after pruning; store prune --vacuum rewrites it, so it shrinks
// at once and is incremental from then on.
func TestStorePruneVacuumConvertsAnOldFile(t *testing.T) {
	fx := newOpFixture(t)
	if err := os.MkdirAll(filepath.Dir(fx.dbPath), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+fx.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	// As an older version left it: tables already there, no auto_vacuum.
	if _, err := db.Exec(`PRAGMA auto_vacuum = NONE; CREATE TABLE old_marker (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st := fx.store(t)
	old := time.Now().Add(-72 * time.Hour).UTC()
	for b := range 10 {
		batch := store.Batch{Hash: func(prev string, r *store.AuditRow) string { return fmt.Sprintf("%x|%d", len(prev), r.Seq) }}
		for i := range 500 {
			at := old.Add(time.Duration(b*500+i) * time.Second)
			id := fmt.Sprintf("req-%d-%d-%s", b, i, "padding padding padding padding")
			batch.Usage = append(batch.Usage, store.UsageRecord{Time: at, RequestID: id, Attempt: 1, Model: "m", Provider: "p",
				UpstreamModel: "u", Hosting: "proprietary", Status: 200, InputTokens: 1, CostNanos: 1})
			batch.Audit = append(batch.Audit, store.AuditRow{Time: at, RequestID: id, Action: "allow", Outcome: "200"})
		}
		if _, err := st.Commit(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	autoVacuum := func() int {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+fx.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var mode int
		if err := db.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		return mode
	}
	if m := autoVacuum(); m != 0 {
		t.Fatalf("fixture: auto_vacuum = %d, want 0 (none), as an old file", m)
	}
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\nmetering:\n  retention: { usage: 2h, audit: 1d }\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		fi, err := os.Stat(fx.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if _, _, err := opRun(t, "store", "prune", "--config", fx.cfgPath); err != nil {
		t.Fatal(err)
	}
	before := size()
	if _, _, err := opRun(t, "store", "prune", "--vacuum", "--config", fx.cfgPath); err != nil {
		t.Fatal(err)
	}
	if after := size(); after > before/2 {
		t.Errorf("after --vacuum the file is %d bytes, was %d after pruning: want under half", after, before)
	}
	if m := autoVacuum(); m != 2 {
		t.Errorf("after --vacuum auto_vacuum = %d, want 2 (incremental)", m)
	}
	if _, _, err := opRun(t, "store", "prune", "--vacuum", "--dry-run", "--config", fx.cfgPath); err == nil {
		t.Error("--vacuum with --dry-run: no error")
	}
}
