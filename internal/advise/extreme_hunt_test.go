//go:build advisehunt

package advise

import (
	"context"
	"math"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"
)

// extremeProfile draws from the corners the wide draws do not reach:
// volumes from a million to ten quadrillion tokens a month, replicas that
// carry 10 to 3,400 tokens/s at 1% to 90% utilisation (millions of GPUs),
// peaks up to a million requests a second, budgets from $1 a month, steep
// growth over up to ten years.
func extremeProfile(rng *rand.Rand) *Profile {
	p, _ := wideProfile(rng)
	pick := func(xs ...float64) float64 { return xs[rng.Intn(len(xs))] }
	vol := math.Pow(10, 6+10*rng.Float64())
	p.Workload.InputTokensPerMonth, p.Workload.OutputTokensPerMonth = vol*0.75, vol*0.25
	p.SelfHosting.TargetUtilisation = pick(0.01, 0.05, 0.7)
	p.HorizonMonths = int(pick(12, 36, 120))
	p.Workload.GrowthPerMonth = pick(0, 0.05, 0.2)
	for i := range p.Candidates.Open {
		p.Candidates.Open[i].OutputTokensPerSecond = pick(10, 100, 3400)
	}
	if rng.Intn(2) == 0 {
		p.Budget.MonthlyLimitUSD = pick(1, 50, 1000)
	}
	if rng.Intn(3) == 0 {
		p.Workload.PeakRPS, p.Workload.OutputTokensPerRequest = pick(1e3, 1e6), 300
		p.Workload.BaseRPS, p.Workload.PeakHoursPerDay = 0, 0
		if rng.Intn(2) == 0 {
			p.Workload.BaseRPS, p.Workload.PeakHoursPerDay = p.Workload.PeakRPS*0.1, 4
		}
	}
	if err := p.validate(); err != nil {
		panic(err)
	}
	return p
}

// TestHuntSlowProfiles (go test -tags advisehunt -run Hunt -v) draws
// ADVISE_PROFILES (240) extreme profiles and logs the slowest, with how
// many volumes the flip search decided at. ADVISE_BOUND sets the bound of
// work (maxFlipWork); ADVISE_CHECK=1 decides again either side of every
// flip stated, cut or not.
func TestHuntSlowProfiles(t *testing.T) {
	n, seed := 240, int64(1)
	if v, err := strconv.Atoi(os.Getenv("ADVISE_PROFILES")); err == nil {
		n = v
	}
	if v, err := strconv.ParseInt(os.Getenv("ADVISE_SEED"), 10, 64); err == nil {
		seed = v
	}
	if v, err := strconv.Atoi(os.Getenv("ADVISE_BOUND")); err == nil {
		maxFlipWork = v
	}
	rng := rand.New(rand.NewSource(seed))
	type res struct {
		i         int
		d         time.Duration
		decisions int
		flip      string
	}
	var rs []res
	checked, cut := 0, 0
	for i := range n {
		p := extremeProfile(rng)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		r, err := Run(ctx, Options{Profile: p})
		cancel()
		d := time.Since(start)
		if err != nil {
			t.Logf("profile %d: %v: %v (%+v)", i, d, err, p.Workload)
			rs = append(rs, res{i, d, -1, err.Error()})
			continue
		}
		flip := ""
		if r.RunnerUp != nil {
			flip = r.RunnerUp.Flip
			if len(r.RunnerUp.VolumeCuts) > 0 {
				cut++
			}
		}
		if os.Getenv("ADVISE_CHECK") != "" && r.RunnerUp != nil {
			// The nearest flips hold either side, cut or not.
			ch := r.Recommendation.Candidate
			for _, f := range r.RunnerUp.VolumeFlips {
				near, far := 1+2e-8, 1-2e-8
				if f.Direction == "above" {
					near, far = far, near
				}
				for _, c := range []struct {
					k    float64
					want string
				}{{near, ch}, {far, f.To}} {
					q := *p
					k := f.TokensPerMonth * c.k / (r.InputTokens + r.OutputTokens)
					q.Workload.InputTokensPerMonth *= k
					q.Workload.OutputTokensPerMonth *= k
					checked++
					if got := run(t, &q).Recommendation.Candidate; got != c.want {
						t.Errorf("profile %d: at %s the choice is %q, want %q: %s", i, preciseTokens(f.TokensPerMonth*c.k), got, c.want, r.RunnerUp.Flip)
					}
				}
			}
		}
		if d > 2*time.Second {
			t.Logf("profile %d: %v, %d decisions, %d candidates", i, d, r.flipDecisions, len(r.Candidates))
		}
		rs = append(rs, res{i, d, r.flipDecisions, flip})
	}
	var total time.Duration
	for _, x := range rs {
		total += x.d
	}
	t.Logf("%d profiles in %v, %d with a search cut by its bound; %d flip claims decided again", len(rs), total, cut, checked)
	sort.Slice(rs, func(a, b int) bool { return rs[a].d > rs[b].d })
	for _, x := range rs[:min(10, len(rs))] {
		t.Logf("profile %d: %v, %d decisions: %.300s", x.i, x.d, x.decisions, x.flip)
	}
}
