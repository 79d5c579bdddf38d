package cli

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite" // the "sqlite" driver, for tampering with the file

	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// chainHash is the hash the gateway's audit writer chains rows with.
func chainHash(prev string, r *store.AuditRow) string {
	rec := audit.ToRecord(r)
	return policy.ChainHash(prev, &rec)
}

var auditSeed = []store.AuditRow{
	{RequestID: "req-1", KeyID: "k1", Classes: []string{"email:2"}, Action: "redact",
		Candidates: []string{"openai:proprietary"}, Chosen: "openai", ChosenHosting: "proprietary", Outcome: "200"},
	{RequestID: "req-2", KeyID: "k1", Classes: []string{"iban:1", "email:1"}, Action: "self_hosted_only",
		Candidates: []string{"ollama:self_hosted"}, Chosen: "ollama", ChosenHosting: "self_hosted", Outcome: "200"},
	{RequestID: "req-3", KeyID: "k2", Action: "allow", Candidates: []string{"openai:proprietary"}, Chosen: "openai",
		ChosenHosting: "proprietary", Outcome: "200"},
	{RequestID: "req-4", KeyID: "k2", Classes: []string{"secret:1"}, Action: "block", Outcome: "blocked"},
	{RequestID: "req-5", KeyID: "k1", Action: "allow", Candidates: []string{"openai:proprietary"}, Chosen: "openai",
		ChosenHosting: "proprietary", Outcome: "200"},
}

// seedAudit appends n rows (auditSeed, repeated with fresh request ids),
// one minute apart from day1.
func seedAudit(t *testing.T, fx *opFixture, n int) {
	t.Helper()
	st := fx.store(t)
	defer st.Close()
	for i := 0; i < n; i++ {
		r := auditSeed[i%len(auditSeed)]
		r.Time = day1.Add(time.Duration(i) * time.Minute)
		r.RequestID = fmt.Sprintf("req-%d", i+1)
		if err := st.AppendAudit(context.Background(), &r, chainHash); err != nil {
			t.Fatal(err)
		}
	}
}

// tamper runs SQL statements on the fixture's SQLite file directly, with a
// busy timeout: the store's checkpointer may hold a lock for a moment.
func tamper(t *testing.T, fx *opFixture, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+fx.dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// forgedRow is a row an attacker who knows the hash function inserts as
// seq 3, chained correctly to seq 2.
func forgedRow(t *testing.T, fx *opFixture) string {
	t.Helper()
	st := fx.store(t)
	defer st.Close()
	rows, err := st.Audit(context.Background(), store.AuditFilter{Limit: 2})
	if err != nil || len(rows) != 2 {
		t.Fatalf("audit: %v, %d rows", err, len(rows))
	}
	r := store.AuditRow{Seq: 3, Time: day1.Add(90 * time.Second), RequestID: "forged", Action: "allow", Outcome: "200", PrevHash: rows[1].Hash}
	r.Hash = chainHash(r.PrevHash, &r)
	return fmt.Sprintf(`INSERT INTO audit (seq, ts, request_id, key_id, classes, action, candidates, chosen, chosen_hosting, outcome, prev_hash, hash)
		VALUES (3, %d, 'forged', '', '[]', 'allow', '[]', '', '', '200', '%s', '%s')`, r.Time.UnixMicro(), r.PrevHash, r.Hash)
}

func TestAuditVerify(t *testing.T) {
	tests := []struct {
		name string
		rows int
		// tamper returns the statements that change the stored log.
		tamper  func(t *testing.T, fx *opFixture) []string
		wantOut string // a line of stdout
		wantErr bool
		errText string // in the error; default "first bad record"
	}{
		{name: "intact", rows: 5, wantOut: "ok: 5 records, chain intact"},
		// Nothing ever chained is no success: the store may not be the
		// gateway's.
		{name: "empty", rows: 0, wantErr: true, errText: "no audit records"},
		{
			name: "edited row", rows: 5,
			tamper: func(*testing.T, *opFixture) []string {
				return []string{`UPDATE audit SET action = 'block' WHERE seq = 3`}
			},
			wantOut: "BROKEN at seq 3 (request req-3)", wantErr: true,
		},
		{
			name: "edited time", rows: 5,
			tamper: func(*testing.T, *opFixture) []string {
				return []string{`UPDATE audit SET ts = ts + 1 WHERE seq = 2`}
			},
			wantOut: "BROKEN at seq 2 (request req-2)", wantErr: true,
		},
		{
			name: "edited and rehashed row", rows: 5,
			tamper: func(t *testing.T, fx *opFixture) []string {
				st := fx.store(t)
				defer st.Close()
				rows, err := st.Audit(context.Background(), store.AuditFilter{})
				if err != nil {
					t.Fatal(err)
				}
				r := rows[2]
				r.Outcome = "ok"
				return []string{fmt.Sprintf(`UPDATE audit SET outcome = 'ok', hash = '%s' WHERE seq = 3`, chainHash(r.PrevHash, &r))}
			},
			// Row 3 now matches its own hash; row 4 no longer links to it.
			wantOut: "BROKEN at seq 4 (request req-4)", wantErr: true,
		},
		{
			name: "deleted row", rows: 5,
			tamper: func(*testing.T, *opFixture) []string {
				return []string{`DELETE FROM audit WHERE seq = 3`}
			},
			wantOut: "BROKEN at seq 4 (request req-4)", wantErr: true,
		},
		{
			name: "deleted first row", rows: 5,
			tamper: func(*testing.T, *opFixture) []string {
				return []string{`DELETE FROM audit WHERE seq = 1`}
			},
			wantOut: "BROKEN at seq 2 (request req-2)", wantErr: true,
		},
		{
			name: "inserted row, correctly hashed, later rows renumbered", rows: 5,
			tamper: func(t *testing.T, fx *opFixture) []string {
				return []string{
					`UPDATE audit SET seq = -(seq + 1) WHERE seq >= 3`,
					`UPDATE audit SET seq = -seq WHERE seq < 0`,
					forgedRow(t, fx),
				}
			},
			// The forged seq 3 verifies; the old seq 3, now 4, does not link to it.
			wantOut: "BROKEN at seq 4 (request req-3)", wantErr: true,
		},
		{
			name: "inserted row at the end", rows: 5,
			tamper: func(*testing.T, *opFixture) []string {
				return []string{`INSERT INTO audit (seq, ts, request_id, action, prev_hash, hash)
					SELECT 6, ts + 1, 'appended', 'allow', hash, 'deadbeef' FROM audit WHERE seq = 5`}
			},
			wantOut: "BROKEN at seq 6 (request appended)", wantErr: true,
		},
		{name: "intact across pages", rows: auditPage + 3, wantOut: fmt.Sprintf("ok: %d records, chain intact", auditPage+3)},
		{
			name: "deleted first row of the second page", rows: auditPage + 3,
			tamper: func(*testing.T, *opFixture) []string {
				return []string{fmt.Sprintf(`DELETE FROM audit WHERE seq = %d`, auditPage+1)}
			},
			wantOut: fmt.Sprintf("BROKEN at seq %d (request req-%d)", auditPage+2, auditPage+2), wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newOpFixture(t)
			seedAudit(t, fx, tt.rows)
			if tt.tamper != nil {
				tamper(t, fx, tt.tamper(t, fx)...)
			}
			out, stderr, err := opRun(t, "audit", "verify", "--config", fx.cfgPath)
			if (err != nil) != tt.wantErr {
				t.Fatalf("audit verify error = %v, want error %v\n%s%s", err, tt.wantErr, out, stderr)
			}
			if !hasLinePrefix(out, tt.wantOut) {
				t.Errorf("audit verify printed\n%s\nwant a line starting %q", out, tt.wantOut)
			}
			want := tt.errText
			if want == "" {
				want = "first bad record"
			}
			if tt.wantErr && !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}

func hasLinePrefix(out, prefix string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func TestAuditVerifyHead(t *testing.T) {
	fx := newOpFixture(t)
	seedAudit(t, fx, 3)
	st := fx.store(t)
	rows, err := st.Audit(context.Background(), store.AuditFilter{})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := opRun(t, "audit", "verify", "-c", fx.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "ok: 3 records, chain intact\nhead: seq 3, hash " + rows[2].Hash + "\n"
	if out != want {
		t.Errorf("audit verify = %q, want %q", out, want)
	}
}

func TestAuditList(t *testing.T) {
	fx := newOpFixture(t)
	seedAudit(t, fx, 5)
	tests := []struct {
		name     string
		args     []string
		wantReqs []string
	}{
		{"all", nil, []string{"req-1", "req-2", "req-3", "req-4", "req-5"}},
		{"class by name, any count", []string{"--class", "email"}, []string{"req-1", "req-2"}},
		{"class not found", []string{"--class", "phone"}, nil},
		{"action", []string{"--action", "block"}, []string{"req-4"}},
		{"key", []string{"--key", "k2"}, []string{"req-3", "req-4"}},
		{"time range", []string{"--since", "2026-11-01T10:01:00Z", "--until", "2026-11-01T10:03:00Z"}, []string{"req-2", "req-3"}},
		{"key and action", []string{"--key", "k1", "--action", "allow"}, []string{"req-5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"audit", "list", "--config", fx.cfgPath, "--format", "jsonl"}, tt.args...)
			out, stderr, err := opRun(t, args...)
			if err != nil {
				t.Fatalf("audit list: %v\n%s", err, stderr)
			}
			var got []string
			var rows []store.AuditRow
			sc := bufio.NewScanner(strings.NewReader(out))
			for sc.Scan() {
				var r store.AuditRow
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatalf("line %q is not a JSON audit row: %v", sc.Text(), err)
				}
				got = append(got, r.RequestID)
				rows = append(rows, r)
			}
			if diff := cmp.Diff(tt.wantReqs, got); diff != "" {
				t.Errorf("request ids (-want +got):\n%s", diff)
			}
			// The export carries the chain: each row checks against its hash.
			for _, r := range rows {
				if h := chainHash(r.PrevHash, &r); h != r.Hash {
					t.Errorf("exported seq %d does not verify", r.Seq)
				}
			}
		})
	}
}

func TestAuditListTable(t *testing.T) {
	fx := newOpFixture(t)
	seedAudit(t, fx, 5)
	out, stderr, err := opRun(t, "audit", "list", "--config", fx.cfgPath, "--action", "self_hosted_only")
	if err != nil {
		t.Fatalf("audit list: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one row, got\n%s", out)
	}
	want := []string{"2", "2026-11-01T10:01:00Z", "req-2", "k1", "self_hosted_only", "iban:1,email:1", "ollama:self_hosted", "ollama", "(self_hosted)", "200"}
	if diff := cmp.Diff(want, strings.Fields(lines[1])); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(lines[0], "SEQ") || !strings.Contains(stderr, "rows: 1") {
		t.Errorf("header %q, stderr %q", lines[0], stderr)
	}
	if _, _, err := opRun(t, "audit", "list", "--config", fx.cfgPath, "--format", "csv"); err == nil {
		t.Error("audit list --format csv: want an error")
	}
}

// An auditor's machine has the gateway's config but not its provider keys:
// audit verify (and usage) must not need them; storage settings it does.
func TestAuditVerifyNeedsNoProviderKeys(t *testing.T) {
	fx := newOpFixture(t)
	seedAudit(t, fx, 3)
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\n" +
		"providers:\n  - name: openai\n    type: openai\n    api_key: ${FULCRUM_TEST_UNSET_OPENAI_KEY}\n" +
		"  - name: anthropic\n    type: anthropic\n    api_key: ${FULCRUM_TEST_UNSET_ANTHROPIC_KEY}\n" +
		"models:\n  - name: gpt\n    provider: openai\n    upstream: gpt-4o\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := opRun(t, "audit", "verify", "--config", fx.cfgPath)
	if err != nil || !strings.HasPrefix(out, "ok: 3 records, chain intact") {
		t.Fatalf("audit verify without provider keys: %v\n%s%s", err, out, stderr)
	}
	if _, _, err := opRun(t, "usage", "--config", fx.cfgPath); err != nil {
		t.Errorf("usage without provider keys: %v", err)
	}
	// The serving command still refuses the config.
	if _, err := loadConfig(&env{lookup: os.LookupEnv}, fx.cfgPath); err == nil {
		t.Error("serve's config loading accepted unset provider keys")
	}
	bad := "storage:\n  url: ${FULCRUM_TEST_UNSET_DB_URL}\n"
	if err := os.WriteFile(fx.cfgPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = opRun(t, "audit", "verify", "--config", fx.cfgPath)
	if err == nil || !strings.Contains(err.Error(), "storage.url") || !strings.Contains(err.Error(), "FULCRUM_TEST_UNSET_DB_URL") {
		t.Errorf("unset storage variable: err = %v, want it named", err)
	}
}
