package cli

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// With rollup_end_users 0 (the default) reports by end user read raw
// records only: a range reaching before the raw records' retention is
// warned about on standard error and in the JSON, naming the part left
// out. Before, the pruned day's users were silently missing from the
// rows and the total.
func TestUsageByUserWarnsWhereRawRowsWerePruned(t *testing.T) {
	fx := newOpFixture(t)
	st := fx.store(t)
	var recs []store.UsageRecord
	for i, at := range []time.Time{day1.Add(time.Hour), day1.Add(26 * time.Hour), day1.Add(50 * time.Hour)} {
		recs = append(recs, store.UsageRecord{Time: at, RequestID: "r" + string(rune('a'+i)), Attempt: 1, KeyID: "k1", Model: "gpt-4o",
			Provider: "openai", Hosting: "proprietary", Status: 200, OutputTokens: 10, CostNanos: 5, EndUser: "ann"})
	}
	if _, err := st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	cut := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	if _, err := st.(store.Retention).Prune(context.Background(), store.KindUsage, cut, 1000, false); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for _, tc := range []struct {
		name     string
		args     []string
		from, to string // the part left out; "" for no warning
	}{
		{"from before the cut", []string{"--group-by", "user", "--since", "2026-10-30"}, "2026-10-30T00:00:00Z", "2026-11-02T00:00:00Z"},
		{"all time", []string{"--group-by", "day,user"}, "", "2026-11-02T00:00:00Z"},
		{"ends before the cut", []string{"--group-by", "user", "--since", "2026-10-30", "--until", "2026-11-01T12:00:00Z"}, "2026-10-30T00:00:00Z", "2026-11-01T12:00:00Z"},
		{"filtered to a user", []string{"--group-by", "model", "--user", "ann", "--since", "2026-11-01"}, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"},
		{"after the cut", []string{"--group-by", "user", "--since", "2026-11-02"}, "-", "-"},
		{"not by user", []string{"--group-by", "model", "--since", "2026-10-30"}, "-", "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := opRun(t, append([]string{"usage", "-c", fx.cfgPath, "--format", "json"}, tc.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			var rep struct {
				Warnings []struct {
					From    *time.Time
					To      time.Time
					Message string
				}
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			if tc.to == "-" {
				if len(rep.Warnings) != 0 || stderr != "" {
					t.Errorf("warned: %+v, stderr %q", rep.Warnings, stderr)
				}
				return
			}
			if len(rep.Warnings) != 1 {
				t.Fatalf("warnings %+v, want one", rep.Warnings)
			}
			w := rep.Warnings[0]
			from := "the first record"
			if tc.from != "" {
				from = tc.from
				if w.From == nil || w.From.Format(time.RFC3339) != tc.from {
					t.Errorf("from %v, want %s", w.From, tc.from)
				}
			} else if w.From != nil {
				t.Errorf("from %v, want none", w.From)
			}
			if w.To.Format(time.RFC3339) != tc.to {
				t.Errorf("to %v, want %s", w.To, tc.to)
			}
			span := from + " to " + tc.to + " is not in this report"
			if !strings.Contains(w.Message, span) || !strings.Contains(stderr, "usage: warning: ") || !strings.Contains(stderr, span) {
				t.Errorf("message %q, stderr %q; want both to say %q", w.Message, stderr, span)
			}
		})
	}
	// The table warns on standard error too.
	_, stderr, err := opRun(t, "usage", "-c", fx.cfgPath, "--group-by", "user", "--since", "2026-10-30")
	if err != nil || !strings.Contains(stderr, "2026-10-30T00:00:00Z to 2026-11-02T00:00:00Z is not in this report") {
		t.Errorf("table: %v, stderr %q", err, stderr)
	}
	// With end users named in the rollups they answer the pruned days:
	// nothing to warn about.
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\nmetering:\n  retention:\n    rollup_end_users: 10\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := opRun(t, "usage", "-c", fx.cfgPath, "--group-by", "user", "--since", "2026-10-30"); err != nil || stderr != "" {
		t.Errorf("rollup_end_users 10: %v, stderr %q", err, stderr)
	}
}
