package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

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
		Kind string
		Rows int64
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := map[string]int64{}
	for _, r := range res {
		got[r.Kind] = r.Rows
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
