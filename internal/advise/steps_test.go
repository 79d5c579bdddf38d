package advise

import (
	"math"
	"strings"
	"testing"
)

// stepsProfile has a fleet whose cost steps past the API's and back at
// every replica, computed by hand:
//
//	replica   1,000 tokens/s × 0.7 × 2,628,000 s = 1.8396 B output tokens a month
//	GPU       $2 × 730 h = $1,460 a replica; staff 0.1 × $10,000 = $1,000
//	API       a replica's tokens at $0.8154/M = $1,499.99 (> $1,460)
//	today     52 B output + 1 M input: API 52,000 × 0.8154 + 0.1 = $42,400.90;
//	          29 replicas (52 / 1.8396 = 28.3) = $43,340: the API.
//
// Self-hosting with n replicas is cheaper from (1,460n + 1,000) / 42,400.90
// × today's volume up to the step to n + 1 replicas (n × 1.8396 B output):
// the first such range above today is n = 29, from 43,340 / 42,400.90 =
// 1.022148 × 52.001 B = 53.153 B; the ranges widen (the saving grows by
// $40 a replica) until they cover a whole step, n ≥ 62.5: the last volume
// where the API wins is just above 61 replicas, and self-hosting wins from
// n = 62's 91,520 / 42,400.90 × 52.001 B = 112.24 B at every volume. Below
// today, ranges n = 28 (nearest, ending at 28 × 1.8396 B output = 51.51 B
// tokens), 27, 26 and 25 (where $40 × 25 just pays the $1,000 of staff:
// 25 × 1.8396 B = 45.99 B) — 4 of them.
func stepsProfile() *Profile {
	fte := 0.1
	p := &Profile{
		Name: "steps", HorizonMonths: 12,
		Expertise: Expertise{StaffCostUSDMonth: 10000},
		Workload:  Workload{InputTokensPerMonth: 1e6, OutputTokensPerMonth: 52e9},
		Candidates: Candidates{
			Proprietary: []ProprietaryModel{{Model: "cheap-api", InputPerMillion: 0.10, OutputPerMillion: 0.8154, Region: "us"}},
			Open:        []OpenModel{{Model: "llama-3.1-8b", GPU: "A10", GPUHourlyUSD: 2, GPUsPerReplica: 1, OutputTokensPerSecond: 1000}},
		},
		SelfHosting: SelfHosting{StaffFTE: &fte},
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		panic(err)
	}
	return p
}

func TestVolumeFlipsAcrossReplicaSteps(t *testing.T) {
	r := run(t, stepsProfile())
	if r.Recommendation.Candidate != "API cheap-api" || r.RunnerUp == nil || len(r.RunnerUp.VolumeFlips) != 2 {
		t.Fatalf("choice %q, runner-up %+v", r.Recommendation.Candidate, r.RunnerUp)
	}
	today := 52.001e9
	rel := func(a, b float64) bool { return math.Abs(a/b-1) < 2e-5 }
	below, above := r.RunnerUp.VolumeFlips[0], r.RunnerUp.VolumeFlips[1]
	if below.Direction != "below" || !rel(below.TokensPerMonth, 28*1.8396e9*today/52e9) || !rel(below.UntilTokensPerMonth, 25*1.8396e9*today/52e9) ||
		below.Ranges != 4 || below.To != "self-hosted llama-3.1-8b" {
		t.Errorf("below: %+v, want 4 ranges from 51.51 B down to 45.99 B", below)
	}
	if above.Direction != "above" || !rel(above.TokensPerMonth, 43340/42400.9*today) || !rel(above.ForGoodTokensPerMonth, 91520/42400.9*today) ||
		above.Then != "self-hosted llama-3.1-8b" || above.UntilTokensPerMonth != 0 {
		t.Errorf("above: %+v, want the first change at 53.15 B and self-hosting for good from 112.24 B", above)
	}
	// Each claim holds either side of every replica step, where a scan in
	// fixed steps would miss the narrow ranges (n = 29's is 0.37% wide,
	// the API's last, above 61 replicas, 0.07%).
	p := stepsProfile()
	k := func(n float64) float64 { return n * 1.8396e9 / 52e9 }
	for n := 20.0; n <= 80; n++ {
		for _, x := range []float64{k(n) * (1 - 1e-7), k(n) * (1 + 1e-7)} {
			v := x * today
			got := r.whatIf(p, x, nil)
			var want string
			switch {
			case v > above.ForGoodTokensPerMonth:
				want = "self-hosted llama-3.1-8b"
			case v < below.UntilTokensPerMonth, v > below.TokensPerMonth && v < above.TokensPerMonth:
				want = "API cheap-api"
			}
			if want != "" && got != want {
				t.Errorf("at %.6g tokens (n = %g) the choice is %q, the report implies %q", v, n, got, want)
			}
		}
	}
	if r.whatIf(p, 112.2e9/today, nil) != "self-hosted llama-3.1-8b" && r.whatIf(p, 110.4e9/today, nil) != "API cheap-api" {
		t.Errorf("the API's last range (110.38–110.45 B) and self-hosting's from 112.24 B are not where computed")
	}
}

// The break-even of the same fleet: from 62 replicas on self-hosting is no
// dearer at every volume (each step's range covers the step and the one
// before it joins), from (1,000 + 62 × 1,460) / $42,400.90 × 52.001 B =
// 112.24 B tokens a month, the volume flip's "for good" figure. Each range
// is one replica wide, under 2% of the volume past 50 replicas, and the
// report said "the API stays cheaper at any volume" instead.
//
// The first range is n = 25's: a replica's tokens (1.8396 B output and
// their share of the 1 M input, 1.83964 B) cost 1.83964 B × $42,400.90 /
// 52.001 B = $1,500.013 on the API, $40.013 more than the replica, and
// 25 × $40.013 = $1,000.33 just pays the staff: from (1,000 + 25 × 1,460)
// / $42,400.90 × 52.001 B = 37,500 / 42,400.90 × 52.001 B = 45.99047 B up
// to the step at 25 × 1.83964 B = 45.99088 B, 0.0009% wide. It and the 36
// after it were left out as slivers under 2% wide, so the report said
// "from 112.24 B", where self-hosting had been no dearer in places from
// 45.99 B.
func TestBreakEvenPastManyReplicas(t *testing.T) {
	p := stepsProfile()
	r := run(t, p)
	be := r.BreakEven
	first, forGood := 37500/42400.9*52.001e9, 91520/42400.9*52.001e9
	step := 25 * 1.8396e9 * 52.001 / 52
	rel := func(a, b float64) bool { return math.Abs(a/b-1) < 1e-9 }
	if !be.Found || !rel(be.TokensPerMonth, first) || !rel(be.ForGoodTokensPerMonth, forGood) || be.UntilTokensPerMonth != 0 {
		t.Errorf("break-even %+v, want found from %.6g tokens a month and for good from %.6g", be, first, forGood)
	}
	// Month 1 of the pair either side of each figure, as computed.
	for _, c := range []struct {
		v        float64
		selfWins bool
	}{{first * (1 - 1e-9), false}, {first * (1 + 1e-9), true}, {step * (1 - 1e-9), true}, {step * (1 + 1e-9), false},
		{forGood * (1 - 1e-9), false}, {forGood * (1 + 1e-9), true}, {3 * forGood, true}} {
		q := *p
		k := c.v / 52.001e9
		q.Workload.InputTokensPerMonth *= k
		q.Workload.OutputTokensPerMonth *= k
		rr := run(t, &q)
		api, self := candidate(t, rr, "API cheap-api").FirstMonthUSD, candidate(t, rr, "self-hosted llama-3.1-8b").FirstMonthUSD
		if (self <= api) != c.selfWins {
			t.Errorf("at %.6g tokens: API $%.2f, self-hosted $%.2f, want self-hosting no dearer: %v", c.v, api, self, c.selfWins)
		}
	}
}

// farStepsProfile's first change is 333 replica steps above today's, in
// windows far narrower than 1%, computed by hand:
//
//	replica  1,000 tokens/s × 0.7 × 2,628,000 s = 1.8396 B output tokens a
//	         month, $2 × 730 h = $1,460; staff 0.4 × $10,000 = $4,000
//	today    9.5 replicas of output (17.4762 B) + 1 M input; at k times it
//	         the API costs k × (0.1 + 17,476.2 × 0.8) = $13,981.06k a month,
//	         self-hosting 1,460 × ⌈9.5k⌉ + 4,000: the API (k = 1: $13,981
//	         against $18,600)
//
// With n replicas self-hosting is cheaper from k = (1,460n + 4,000) /
// 13,981.06 up to the step at n / 9.5, a range that exists once
// 13,981.06n / 9.5 > 1,460n + 4,000, i.e. n > 342.16: the first is n = 343,
// from k = 504,780 / 13,981.06 = 36.1046 (0.002% wide). The ranges widen
// until they cover their whole step, n ≥ 469; the API's last sliver is
// below n = 468's range, which starts at k = 687,280 / 13,981.06 =
// 49.1579. A scan in 1% steps and at the nearest 300 replica steps
// (n ≤ 310) saw neither figure.
func farStepsProfile() *Profile {
	fte := 0.4
	p := &Profile{
		Name: "far-steps", HorizonMonths: 12,
		Expertise: Expertise{StaffCostUSDMonth: 10000},
		Workload:  Workload{InputTokensPerMonth: 1e6, OutputTokensPerMonth: 9.5 * 1.8396e9},
		Candidates: Candidates{
			Proprietary: []ProprietaryModel{{Model: "cheap-api", InputPerMillion: 0.10, OutputPerMillion: 0.80, Region: "us"}},
			Open:        []OpenModel{{Model: "llama-3.1-8b", GPU: "A10", GPUHourlyUSD: 2, GPUsPerReplica: 1, OutputTokensPerSecond: 1000}},
		},
		SelfHosting: SelfHosting{StaffFTE: &fte},
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		panic(err)
	}
	return p
}

func TestVolumeFlipFarBeyondNearbySteps(t *testing.T) {
	p := farStepsProfile()
	r := run(t, p)
	if r.Recommendation.Candidate != "API cheap-api" || r.RunnerUp == nil || len(r.RunnerUp.VolumeFlips) != 1 {
		t.Fatalf("choice %q, runner-up %+v", r.Recommendation.Candidate, r.RunnerUp)
	}
	const api = 13981.06 // $ a month at today's volume
	today := 1e6 + 9.5*1.8396e9
	first, forGood := 504780/api, 687280/api
	rel := func(a, b float64) bool { return math.Abs(a/b-1) < 1e-7 }
	f := r.RunnerUp.VolumeFlips[0]
	if f.Direction != "above" || !rel(f.TokensPerMonth, first*today) || !rel(f.ForGoodTokensPerMonth, forGood*today) ||
		f.To != "self-hosted llama-3.1-8b" || f.Then != "self-hosted llama-3.1-8b" || f.ThenTokensPerMonth != 0 || f.UntilTokensPerMonth != 0 {
		t.Errorf("flip %+v, want the first change at %.6g (k = %.6g) and self-hosting for good from %.6g (k = %.6g)", f, first*today, first, forGood*today, forGood)
	}
	// Either side of every range's start and every step, as computed.
	for n := 330.0; n <= 480; n++ {
		start := (1460*n + 4000) / api
		for _, c := range []struct {
			k    float64
			self bool
		}{
			{start * (1 - 1e-7), start < (n-1)/9.5},
			{start * (1 + 1e-7), start*(1+1e-7) < n/9.5},
			{n / 9.5 * (1 + 1e-7), (1460*(n+1)+4000)/api < n/9.5},
		} {
			want := "API cheap-api"
			if c.self {
				want = "self-hosted llama-3.1-8b"
			}
			if got := r.whatIf(p, c.k, nil); got != want {
				t.Errorf("n = %g, k = %.9g: %q, want %q", n, c.k, got, want)
			}
		}
	}
}

// When each replica costs more than the tokens it carries, the ranges end;
// with hosted training dearer than everything fixed in-house the first
// fleet can still undercut the API. Computed by hand:
//
//	replica   900 tokens/s × 0.7 × 2,628,000 s = 1.6556 B output, 6.6226 B
//	          tokens at 3:1; 2 GPUs × $3.99 × 730 h = $5,825.40
//	API       gpt-4o-mini fine-tuned at $0.30 / $1.20: $0.525 per million
//	          at 3:1, plus 1 B training tokens × $3 = $3,000 a month
//	fixed     no staff, no in-house training: −$3,000 against the API
//
// One replica is no dearer from (5,825.40 − 3,000) / $0.525 per million =
// 5.3817 B tokens up to its 6.6226 B; two cost $11,650.80, and the API
// reaches that only at 16.478 B, past their 13.245 B: no range, nor any
// after (each replica's tokens, $3,476.84 on the API, cost $2,348.56 less
// than it). So: "from 5.382 B up to 6.623 B".
func TestBreakEvenEndsWhenReplicasCostMore(t *testing.T) {
	zero := 0.0
	p := &Profile{Name: "ends", HorizonMonths: 12,
		Customisation: Customisation{FineTuning: true, TrainingTokensPerMonth: 1e9},
		Workload:      Workload{InputTokensPerMonth: 3e9, OutputTokensPerMonth: 1e9},
		Candidates: Candidates{
			Proprietary: []ProprietaryModel{{Model: "gpt-4o-mini", InputPerMillion: 0.15, OutputPerMillion: 0.6, Region: "us",
				FineTuning: &HostedFineTuning{TrainingPerMillion: 3, InputPerMillion: 0.3, OutputPerMillion: 1.2}}},
			Open: []OpenModel{{Model: "llama-3.1-70b", GPUHourlyUSD: 3.99, GPUsPerReplica: 2, OutputTokensPerSecond: 900}},
		},
		SelfHosting: SelfHosting{StaffFTE: &zero},
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		t.Fatal(err)
	}
	r := run(t, p)
	be := r.BreakEven
	first, last := 2825.40/0.525e-6, 900*0.7*2628000/0.25
	rel := func(a, b float64) bool { return math.Abs(a/b-1) < 1e-9 }
	if !be.Found || !rel(be.TokensPerMonth, first) || !rel(be.UntilTokensPerMonth, last) || be.ForGoodTokensPerMonth != 0 {
		t.Fatalf("break-even %+v, want from %.6g up to %.6g", be, first, last)
	}
	if want := "from 5.382 B tokens a month up to 6.623 B: beyond, each replica added costs more than the tokens it carries"; !strings.Contains(breakEvenClaim(be), want) {
		t.Errorf("claim %q, want it to say %q", breakEvenClaim(be), want)
	}
	// A replica is added once the demand passes a whole one by 10⁻⁹ of a
	// replica: the step is checked 10⁻⁸ beyond.
	for _, c := range []struct {
		v        float64
		selfWins bool
	}{{first * (1 - 1e-9), false}, {first * (1 + 1e-9), true}, {last * (1 - 1e-9), true}, {last * (1 + 1e-8), false},
		{2 * last * (1 - 1e-9), false}, {3 * last * (1 - 1e-9), false}, {10 * last * (1 - 1e-9), false}} {
		q := *p
		k := c.v / 4e9
		q.Workload.InputTokensPerMonth *= k
		q.Workload.OutputTokensPerMonth *= k
		rr := run(t, &q)
		api, self := candidate(t, rr, "API gpt-4o-mini").FirstMonthUSD, candidate(t, rr, "self-hosted llama-3.1-70b").FirstMonthUSD
		if (self <= api) != c.selfWins {
			t.Errorf("at %.6g tokens: API $%.2f, self-hosted $%.2f, want self-hosting no dearer: %v", c.v, api, self, c.selfWins)
		}
	}
}
