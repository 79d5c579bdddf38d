package cli

import (
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/advise"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

// A village clinic's pilot measured by the gateway (advise --measured, very
// little traffic, a store two days old). Now is 2026-12-06 15:42:17; one
// request an hour from 12-04 16:00 to 12-06 15:00 (48) and a burst of 9 in
// the minute 12-05 10:30, each 1,500 input and 400 output tokens:
//
//	57 requests, 85,500 input and 22,800 output tokens over 47 h 42 min,
//	  measured over 2 days (rounded up): a month is 730 / 48 = 15.208 times
//	  that, 1,300,312.5 input and 346,750 output tokens
//	peak: the busiest minute's 9 requests / 60 s = 0.15 a second × 400
//	  output tokens a request = 60 tokens/s
//	gpt-4o-mini: 1.3003125 × $0.15 + 0.34675 × $0.60 = $0.403096875 a month
//	llama-3.1-8b: 60 ≤ 1,518 × 0.7 = 1,062.6 tok/s, one A100 $1,014.70 +
//	  0.1 × $8,000 + $50 = $1,864.70
//
// The same two days of input-only traffic (embeddings: no output tokens)
// are 1,300,312.5 input tokens a month, $0.195046875 on gpt-4o-mini, no
// peak output rate. Before, measured usage without output tokens was
// dropped: the report read the profile's volumes (here none, and the
// command said the store "holds no usage in the last 30 days").
func TestAdviseOrgPilotMeasuredLightTraffic(t *testing.T) {
	for _, c := range []struct {
		name                   string
		out                    int64
		wantIn, wantOut, peak  float64
		apiMonth, selfHostedM1 float64
	}{
		{"chat", 400, 1300312.5, 346750, 60, 0.403096875, 1864.70},
		{"input only", 0, 1300312.5, 0, 0, 0.195046875, 1864.70},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := open.Store(ctx, "sqlite://"+filepath.Join(t.TempDir(), "pilot.db"), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			now := time.Date(2026, 12, 6, 15, 42, 17, 0, time.UTC)
			if s, ok := st.(interface{ SetNow(func() time.Time) }); ok {
				s.SetNow(func() time.Time { return now })
			}
			rec := func(at time.Time) store.UsageRecord {
				return store.UsageRecord{Time: at, RequestID: at.Format(time.RFC3339), Attempt: 1, KeyID: "k1", Model: "gpt-4o-mini",
					Provider: "openai", Hosting: "proprietary", Status: 200, InputTokens: 1500, OutputTokens: c.out}
			}
			var recs []store.UsageRecord
			for at := time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC); at.Before(now); at = at.Add(time.Hour) {
				recs = append(recs, rec(at))
			}
			for i := range 9 {
				recs = append(recs, rec(time.Date(2026, 12, 5, 10, 30, i, 0, time.UTC)))
			}
			if len(recs) != 57 {
				t.Fatalf("%d records, want 57", len(recs))
			}
			if _, err := st.InsertUsage(ctx, recs); err != nil {
				t.Fatal(err)
			}
			p, err := advise.LoadProfile(orgs + "pilot.yaml")
			if err != nil {
				t.Fatal(err)
			}
			r, err := advise.Run(ctx, advise.Options{Profile: p, Usage: storeUsage{st: st, now: func() time.Time { return now }}, UsageDays: 30, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if r.VolumeSource != "measured over 2 days" || math.Abs(r.InputTokens-c.wantIn) > 1e-6 || math.Abs(r.OutputTokens-c.wantOut) > 1e-6 ||
				math.Abs(r.PeakOutputTokensPerSecond-c.peak) > 1e-9 {
				t.Fatalf("%s: %.1f input, %.1f output tokens a month, peak %g tok/s; want measured over 2 days, %.1f, %.1f, %g",
					r.VolumeSource, r.InputTokens, r.OutputTokens, r.PeakOutputTokensPerSecond, c.wantIn, c.wantOut, c.peak)
			}
			for _, cand := range r.Candidates {
				want := map[string]float64{"API gpt-4o-mini": c.apiMonth, "self-hosted llama-3.1-8b": c.selfHostedM1}[cand.Name]
				if got := cand.FirstMonthUSD; math.Abs(got-want) > 1e-6 {
					t.Errorf("%s: month 1 $%.9f, want $%.9f", cand.Name, got, want)
				}
			}
			if r.Recommendation.Candidate != "API gpt-4o-mini" {
				t.Errorf("chose %q, want API gpt-4o-mini", r.Recommendation.Candidate)
			}
		})
	}
}
