package cli

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Without --since, GPU rent is charged from the provider's oldest record:
// where raw rows were pruned, from the first day the rollups hold for it,
// since the tokens the rent is shared by come from those rollups. Before,
// it was charged from the oldest raw row kept: after a prune, 2 hours of
// rent spread over a month's tokens ($2 for 4,000 tokens instead of $756).
func TestUsageRentStartsAtTheOldestRolledUpRecord(t *testing.T) {
	fx := newOpFixture(t)
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\n" +
		"providers:\n  - name: gpu\n    type: openai\n    base_url: http://127.0.0.1:1/v1\n    hosting: self_hosted\n" +
		"    cost: { gpu_hourly_usd: 1, gpus: 1 }\n" +
		"models:\n  - name: mixtral\n    provider: gpu\n    upstream: mixtral\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	st := fx.store(t)
	oct, nov := time.Date(2026, 10, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	recs := []store.UsageRecord{
		{Time: oct, RequestID: "g1", Attempt: 1, KeyID: "k1", Model: "mixtral", Provider: "gpu", Hosting: "self_hosted", Status: 200, OutputTokens: 1000},
		{Time: nov, RequestID: "g2", Attempt: 1, KeyID: "k1", Model: "mixtral", Provider: "gpu", Hosting: "self_hosted", Status: 200, OutputTokens: 3000},
	}
	if _, err := st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	rent := func() rentLine {
		t.Helper()
		out, stderr, err := opRun(t, "usage", "--config", fx.cfgPath, "--until", nov.Add(2*time.Hour).Format(time.RFC3339), "--format", "json")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		var rep struct {
			SelfHosted []rentLine `json:"self_hosted"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.SelfHosted) != 1 {
			t.Fatalf("%v: %s", err, out)
		}
		return rep.SelfHosted[0]
	}
	// 31 days and 2 hours at $1 an hour.
	if l := rent(); !l.From.Equal(oct) || l.OutputTokens != 4000 || l.RentNanos != 746_000_000_000 {
		t.Errorf("before pruning: from %v, %d output tokens, rent %d; want from %v, 4000, $746", l.From, l.OutputTokens, l.RentNanos, oct)
	}
	if _, err := st.(store.Retention).Prune(context.Background(), store.KindUsage, time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC), 1000, false); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// The October record is in the rollups only: from 00:00 that day,
	// 31 days and 12 hours.
	day := oct.Truncate(24 * time.Hour)
	if l := rent(); !l.From.Equal(day) || l.OutputTokens != 4000 || l.RentNanos != 756_000_000_000 {
		t.Errorf("after pruning: from %v, %d output tokens, rent %d; want from %v, 4000, $756", l.From, l.OutputTokens, l.RentNanos, day)
	}
}

// A --since in pruned raw rows counts from its whole hour: the rent is
// charged over that hour too, as the tokens it is shared by are.
func TestUsageRentCoversTheCountedRange(t *testing.T) {
	fx := newOpFixture(t)
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\n" +
		"providers:\n  - name: gpu\n    type: openai\n    base_url: http://127.0.0.1:1/v1\n    hosting: self_hosted\n" +
		"    cost: { gpu_hourly_usd: 1, gpus: 1 }\n" +
		"models:\n  - name: mixtral\n    provider: gpu\n    upstream: mixtral\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	st := fx.store(t)
	at := time.Date(2026, 10, 1, 10, 10, 0, 0, time.UTC)
	recs := []store.UsageRecord{{Time: at, RequestID: "g1", Attempt: 1, Model: "mixtral", Provider: "gpu", Hosting: "self_hosted", Status: 200, OutputTokens: 1000}}
	if _, err := st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.(store.Retention).Prune(context.Background(), store.KindUsage, time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC), 1000, false); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// --since 10:30, in the pruned hour that holds the record at 10:10:
	// counted from 10:00, so 2 hours of rent to 12:00, not 1.5.
	out, stderr, err := opRun(t, "usage", "--config", fx.cfgPath, "--since", "2026-10-01T10:30:00Z", "--until", "2026-10-01T12:00:00Z", "--format", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep struct {
		SelfHosted []rentLine `json:"self_hosted"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.SelfHosted) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	if l := rep.SelfHosted[0]; l.RentNanos != 2_000_000_000 || l.OutputTokens != 1000 || !l.From.Equal(at.Truncate(time.Hour)) {
		t.Errorf("rent from %v, %d nanodollars for %d output tokens; want from 10:00, $2, 1000", l.From, l.RentNanos, l.OutputTokens)
	}
}
