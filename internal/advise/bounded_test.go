package advise

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// millionsProfile is a fleet of two million replicas at 1% utilisation
// whose cost steps past the API's and back at every one of a hundred
// thousand replica steps, computed by hand:
//
//	replica  1,000 tokens/s × 0.01 × 2,628,000 s = 26.28 M output tokens a
//	         month; GPU $0.36 × 730 h = $262.80; on the API at $10.0001/M
//	         the same tokens cost $262.802628: d = $0.002628 more
//	fixed    staff 0.5 × $10,512 = $5,256
//	window   with n replicas self-hosting costs 262.80n + 5,256, the API
//	         262.802628v at v replicas of output, v in (n − 1, n]: it is
//	         cheaper from v = (262.80n + 5,256) / 262.802628 to the step,
//	         a window that exists from n = 5,256 / 0.002628 = 2,000,000 and
//	         covers its whole step from n = (5,256 + 262.802628) / 0.002628
//	         = 2,100,001: 100,000 windows.
//	today    v = 2,050,000.25 (53.874 T tokens a month), step n = 2,050,001:
//	         its window opens at (262.80 × 2,050,001 + 5,256) / 262.802628
//	         = 2,050,000.49999 replicas: the API today; the nearest change
//	         above is there, to self-hosting; the nearest below is the step
//	         to 2,050,000 replicas, below which (step 2,050,000's window,
//	         from 2,049,999.5) self-hosting wins.
//
// Every window needs two decisions or more, so the whole search would take
// over 200,000: minutes, as 26 of 240 extreme random profiles did
// (extreme_hunt_test.go).
func millionsProfile() *Profile {
	fte := 0.5
	const replica = 26.28e6
	p := &Profile{
		Name: "millions", HorizonMonths: 12,
		Expertise: Expertise{StaffCostUSDMonth: 10512},
		Workload:  Workload{OutputTokensPerMonth: 2_050_000.25 * replica},
		Candidates: Candidates{
			Proprietary: []ProprietaryModel{{Model: "api", InputPerMillion: 1, OutputPerMillion: 10.0001, Region: "us"}},
			Open:        []OpenModel{{Model: "llama-3.1-8b", GPU: "T4", GPUHourlyUSD: 0.36, GPUsPerReplica: 1, OutputTokensPerSecond: 1000}},
		},
		SelfHosting: SelfHosting{StaffFTE: &fte, TargetUtilisation: 0.01},
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		panic(err)
	}
	return p
}

// The flip search on millionsProfile stops at its bound of work, and says
// so: the nearest change each way (found before the bound, by hand above)
// holds when decided again either side, nothing further is claimed, and
// the text says where the search stopped. Before, it decided at every
// window: minutes, and Ctrl-C did not stop it.
func TestFlipSearchIsBoundedOnExtremeProfile(t *testing.T) {
	defer func(w int) { maxFlipWork = w }(maxFlipWork)
	maxFlipWork = 20_000
	p := millionsProfile()
	r := run(t, p)
	if r.Recommendation.Candidate != "API api" || r.RunnerUp == nil {
		t.Fatalf("choice %q, runner-up %+v", r.Recommendation.Candidate, r.RunnerUp)
	}
	// Work: each decision is 100 + 2 candidates × 12 months = 124 units,
	// so a direction stops after ⌈20,000 / 124⌉ = 162 decisions (or
	// minFlipDecisions), plus today's.
	perDir := max(int(math.Ceil(float64(maxFlipWork)/float64(flipDecisionWork+len(r.Candidates)*p.HorizonMonths))), minFlipDecisions)
	if r.flipDecisions > 2*perDir+1 {
		t.Errorf("%d decisions, want at most %d", r.flipDecisions, 2*perDir+1)
	}
	ru := r.RunnerUp
	if len(ru.VolumeCuts) != 2 {
		t.Fatalf("cuts %+v, want both directions cut: %s", ru.VolumeCuts, ru.Flip)
	}
	const replica = 26.28e6
	want := map[string]float64{
		"below": 2_050_000 * replica,
		"above": (262.80*2_050_001 + 5256) / 262.802628 * replica,
	}
	if len(ru.VolumeFlips) != 2 {
		t.Fatalf("flips %+v", ru.VolumeFlips)
	}
	for _, f := range ru.VolumeFlips {
		if w := want[f.Direction]; math.Abs(f.TokensPerMonth/w-1) > 1e-8 || f.To != "self-hosted llama-3.1-8b" {
			t.Errorf("%s: %+v, want self-hosting from %.10g", f.Direction, f, w)
		}
		if f.Then != "" || f.UntilTokensPerMonth != 0 || f.ForGoodTokensPerMonth != 0 || f.Ranges != 0 {
			t.Errorf("%s: %+v claims what lies beyond where the search stopped", f.Direction, f)
		}
		near, far := 1+2e-9, 1-2e-9
		if f.Direction == "above" {
			near, far = far, near
		}
		for _, c := range []struct {
			k    float64
			want string
		}{{near, "API api"}, {far, f.To}} {
			q := *p
			q.Workload.OutputTokensPerMonth = f.TokensPerMonth * c.k
			if got := run(t, &q).Recommendation.Candidate; got != c.want {
				t.Errorf("%s: at %.12g the choice is %q, want %q", f.Direction, q.Workload.OutputTokensPerMonth, got, c.want)
			}
		}
	}
	for _, c := range ru.VolumeCuts {
		today := 2_050_000.25 * replica
		if c.Direction == "below" && !(c.SearchedToTokensPerMonth < want["below"] && c.SearchedToTokensPerMonth >= 0.01*today) ||
			c.Direction == "above" && !(c.SearchedToTokensPerMonth > want["above"] && c.SearchedToTokensPerMonth <= 100*today) {
			t.Errorf("cut %+v: the search reached past its flip (%.10g) and not beyond its range", c, want[c.Direction])
		}
	}
	// The figures lie a part in 10⁷ from today's: given to as many digits
	// as tell them apart (2,050,000 × 26.28 M = 53.874 T; 2,050,000.49999 ×
	// 26.28 M = 53.874013 T; today 53.874007 T), not "53.87 T" thrice.
	for _, s := range []string{"the search stopped at ", "what follows above that was not searched", "what follows below that was not searched",
		"below 53.874 T tokens a month", "above 53.874013 T tokens a month", "(now 53.874007 T,"} {
		if !strings.Contains(ru.Flip, s) {
			t.Errorf("flip lacks %q: %s", s, ru.Flip)
		}
	}
}

// A flip search that finds no change before its bound says "no flip found
// within …" and how far it searched, not "no volume … changes".
func TestFlipSearchCutWithoutFlipSaysSo(t *testing.T) {
	defer func(w, d int) { maxFlipWork, minFlipDecisions = w, d }(maxFlipWork, minFlipDecisions)
	maxFlipWork, minFlipDecisions = 0, 1
	r := run(t, millionsProfile())
	if r.RunnerUp == nil || len(r.RunnerUp.VolumeFlips) != 0 || len(r.RunnerUp.VolumeCuts) != 2 {
		t.Fatalf("runner-up %+v", r.RunnerUp)
	}
	f := r.RunnerUp.Flip
	if strings.Contains(f, "no volume from 1/100 to 100 times") || !strings.Contains(f, "no flip found within the search: no volume from today's down to") ||
		!strings.Contains(f, "no flip found within the search: no volume from today's up to") {
		t.Errorf("flip: %s", f)
	}
}

// cancelAfter is a context whose Err reports Canceled from its n-th call:
// cancelled in the middle of the flip search, at a known point.
type cancelAfter struct {
	context.Context
	n, calls atomic.Int64
}

func (c *cancelAfter) Err() error {
	if c.calls.Add(1) >= c.n.Load() {
		return context.Canceled
	}
	return nil
}

// A context cancelled before or during the flip search ends Run with its
// error, at once, and no report: before, the search never looked at the
// context and took minutes on millionsProfile unbounded.
func TestCancelledContextStopsFlipSearch(t *testing.T) {
	defer func(w int) { maxFlipWork = w }(maxFlipWork)
	maxFlipWork = math.MaxInt // unbounded: only the context stops it
	opts := Options{Profile: millionsProfile(), Now: func() time.Time { return time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC) }}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r, err := Run(ctx, opts); !errors.Is(err, context.Canceled) || r != nil {
		t.Errorf("cancelled before: report %v, err %v", r != nil, err)
	}

	c := &cancelAfter{Context: context.Background()}
	c.n.Store(100) // the search looks once a decision
	r, err := Run(c, opts)
	if !errors.Is(err, context.Canceled) || r != nil {
		t.Fatalf("cancelled during: report %v, err %v", r != nil, err)
	}
	if !strings.Contains(err.Error(), "no report") {
		t.Errorf("err %q does not say no report was made", err)
	}
	if got := c.calls.Load(); got > 101 {
		t.Errorf("the context was asked %d times after being cancelled at call 100", got-100)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Run(ctx, opts); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: err %v", err)
	}
}
