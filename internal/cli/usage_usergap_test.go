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

// A range whose edge lies where the raw records were pruned is counted
// from the whole hour (or day) the rollups keep; the report says so on
// standard error and in the JSON ("counted"), which showed only the range
// asked for.
func TestUsageSaysWhenItWidensTheRange(t *testing.T) {
	fx := newOpFixture(t)
	st := fx.store(t)
	var recs []store.UsageRecord
	for i, at := range []time.Time{day1.Add(10 * time.Minute), day1.Add(40 * time.Minute), day1.Add(26 * time.Hour)} {
		recs = append(recs, store.UsageRecord{Time: at, RequestID: "r" + string(rune('a'+i)), Attempt: 1, KeyID: "k1", Model: "gpt-4o",
			Provider: "openai", Hosting: "proprietary", Status: 200, OutputTokens: 10, CostNanos: 5})
	}
	if _, err := st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	cut := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	if _, err := st.(store.Retention).Prune(context.Background(), store.KindUsage, cut, 1000, false); err != nil {
		t.Fatal(err)
	}
	run := func(since string) (from *time.Time, requests int64, stderr string) {
		t.Helper()
		out, stderr, err := opRun(t, "usage", "-c", fx.cfgPath, "--format", "json", "--group-by", "", "--since", since, "--until", "2026-11-03")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		var rep struct {
			Counted *struct {
				From, To *time.Time
				Message  string
			}
			Total struct{ Requests int64 }
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Counted != nil {
			if rep.Counted.To != nil || !strings.Contains(stderr, "usage: note: ") || !strings.Contains(stderr, rep.Counted.Message) {
				t.Errorf("counted %+v, stderr %q", rep.Counted, stderr)
			}
			from = rep.Counted.From
		}
		return from, rep.Total.Requests, stderr
	}
	// day1 is 10:00: 10:30 is in the hour of the record at 10:40 (and of
	// the one at 10:10, counted with it).
	if from, n, stderr := run("2026-11-01T10:30:00Z"); from == nil || !from.Equal(day1) || n != 3 ||
		!strings.Contains(stderr, "from 2026-11-01T10:00:00Z (not 2026-11-01T10:30:00Z)") {
		t.Errorf("edge in a pruned hour: counted from %v, %d requests, stderr %q; want from 10:00, 3", from, n, stderr)
	}
	if from, n, stderr := run("2026-11-02T00:00:00Z"); from != nil || n != 1 || stderr != "" {
		t.Errorf("edge on the cut: counted from %v, %d requests, stderr %q; want as asked, 1, no note", from, n, stderr)
	}
	// The hourly rollups pruned too: the day's rollup.
	if _, err := st.(store.Retention).Prune(context.Background(), store.KindRollupHourly, cut, 1000, false); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if from, n, _ := run("2026-11-01T10:30:00Z"); from == nil || !from.Equal(day1.Truncate(24*time.Hour)) || n != 3 {
		t.Errorf("hourly rollups pruned: counted from %v, %d requests; want from 00:00, 3", from, n)
	}
}
