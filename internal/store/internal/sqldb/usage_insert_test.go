package sqldb

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// TestSumTotalsIsAddTotals: the batched sum gives what store.AddTotals
// gives record by record, across day, week, month and year boundaries,
// before the epoch, with and without key or team, and with keep.
func TestSumTotalsIsAddTotals(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := []time.Time{
		time.Date(2026, 7, 24, 23, 59, 59, 999999000, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 0, time.FixedZone("x", -5*3600)),
		time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	}
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	for round := range 50 {
		recs := make([]store.UsageRecord, 1+rng.IntN(60))
		keep := make([]bool, len(recs))
		for i := range recs {
			recs[i] = store.UsageRecord{
				Time:      base[rng.IntN(len(base))].Add(time.Duration(rng.IntN(200)-100) * time.Hour),
				KeyID:     pick("", "k1", "k2", "red"),
				Team:      pick("", "red", "blue"),
				Hosting:   pick("proprietary", "self_hosted"),
				CostNanos: rng.Int64N(1e6), InputTokens: rng.Int64N(1000), OutputTokens: rng.Int64N(1000),
			}
			keep[i] = rng.IntN(3) > 0
		}
		for _, k := range [][]bool{nil, keep} {
			want := map[store.TotalKey]store.TotalDelta{}
			for i := range recs {
				if k == nil || k[i] {
					store.AddTotals(want, &recs[i])
				}
			}
			if diff := cmp.Diff(want, sumTotals(recs, k)); diff != "" {
				t.Fatalf("round %d (-AddTotals +sumTotals):\n%s", round, diff)
			}
		}
	}
}

func TestJSONList(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, "[]"},
		{[]string{}, "[]"},
		{[]string{"email:2", "phone"}, `["email:2","phone"]`},
		{[]string{"q\"\\\n\x01é\xff"}, `["q\"\\\n\u0001é\ufffd"]`},
	}
	for _, tt := range tests {
		got := jsonList(tt.in)
		if got != tt.want {
			t.Errorf("jsonList(%q) = %s, want %s", tt.in, got, tt.want)
		}
		back, err := parseList(got)
		if err != nil {
			t.Errorf("parseList(%s): %v", got, err)
		}
		if len(back) != len(tt.in) {
			t.Errorf("round trip of %q: %q", tt.in, back)
		}
	}
}
