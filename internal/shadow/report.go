package shadow

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/savings"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Report summarises stored comparisons per candidate, for `fulcrum shadow
// report`.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	// From and To bound the comparisons read; Days is the span the
	// volume was measured over.
	From       time.Time         `json:"from"`
	To         time.Time         `json:"to"`
	Days       float64           `json:"days"`
	Candidates []CandidateReport `json:"candidates"`
}

// Rate is a proportion with its 95% Wilson score interval.
type Rate struct {
	N    int     `json:"n"`
	K    int     `json:"k"`
	Rate float64 `json:"rate"`
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Slice is a candidate's agreement within one data class or route.
type Slice struct {
	Name      string `json:"name"`
	Agreement Rate   `json:"agreement"`
}

// Latency is a call's latency percentiles, in milliseconds.
type Latency struct {
	P50 int64 `json:"p50_ms"`
	P95 int64 `json:"p95_ms"`
}

// CandidateReport is one candidate's comparisons.
type CandidateReport struct {
	Candidate string `json:"candidate"`
	Provider  string `json:"provider,omitempty"`
	Hosting   string `json:"hosting,omitempty"`
	// Routes are the models and routes it shadowed; Live the models that
	// answered live.
	Routes      []string `json:"routes"`
	Live        []string `json:"live"`
	Comparisons int      `json:"comparisons"`
	Errors      int      `json:"errors"`
	// Agreement counts agreeing comparisons over all of them (a failed
	// candidate call does not agree).
	Agreement Rate `json:"agreement"`
	// WinOrTie is the judge's "candidate at least as good" share over the
	// judged comparisons; Wins, Ties and Losses its counts.
	Judged   int     `json:"judged"`
	Wins     int     `json:"wins"`
	Ties     int     `json:"ties"`
	Losses   int     `json:"losses"`
	WinOrTie *Rate   `json:"win_or_tie,omitempty"`
	ByClass  []Slice `json:"by_data_class"`
	ByRoute  []Slice `json:"by_route"`
	// Latencies of the live answers and of the candidate's.
	LiveLatency      Latency `json:"live_latency"`
	CandidateLatency Latency `json:"candidate_latency"`
	// Costs per 1,000 requests in USD, at the measured averages; the
	// judge's apart.
	LivePer1000      float64 `json:"live_cost_per_1000_usd"`
	CandidatePer1000 float64 `json:"candidate_cost_per_1000_usd"`
	JudgePer1000     float64 `json:"judge_cost_per_1000_usd,omitempty"`
	// MonthlyRequests is the measured volume of the shadowed routes over
	// Days, scaled to a month of 730 hours (savings.Month, the month of
	// `fulcrum advise`, `usage` and `savings`; VolumeSource: "usage" — requests recorded
	// for those names — or "sample_rate", Σ 1/rate over the comparisons
	// when no usage is recorded); the monthly costs are the averages
	// times that volume: what the routes cost now, and would if the
	// candidate answered them (promoted).
	MonthlyRequests  float64 `json:"monthly_requests"`
	VolumeSource     string  `json:"volume_source"`
	MonthlyLiveUSD   float64 `json:"monthly_live_usd"`
	MonthlyIfPromUSD float64 `json:"monthly_if_promoted_usd"`
}

// monthDays is the month monthly figures are projected over, in days:
// 730 hours ÷ 24 = 30.42, the average month (8,760 hours / 12) every other
// report uses. A 30-day month stated the same traffic 1.4% lower here than
// `fulcrum advise` and `fulcrum savings` do.
const monthDays = float64(savings.Month) / float64(24*time.Hour)

// Volume returns the requests recorded for a model or route between from
// and to (the usage records), or -1 when unknown.
type Volume func(name string, from, to time.Time) int64

// Summarise builds the report from rows (as store.ShadowResults returns
// them) read over [from, to).
func Summarise(rows []store.ShadowResult, from, to time.Time, volume Volume) *Report {
	rep := &Report{GeneratedAt: to, From: from, To: to}
	start := from
	if len(rows) > 0 && rows[0].Time.After(start) {
		start = rows[0].Time
	}
	span := to.Sub(start)
	if span < time.Hour {
		span = time.Hour
	}
	rep.Days = span.Hours() / 24
	by := map[string][]*store.ShadowResult{}
	var names []string
	for i := range rows {
		r := &rows[i]
		if by[r.Candidate] == nil {
			names = append(names, r.Candidate)
		}
		by[r.Candidate] = append(by[r.Candidate], r)
	}
	sort.Strings(names)
	for _, name := range names {
		rep.Candidates = append(rep.Candidates, summariseOne(name, by[name], start, to, rep.Days, volume))
	}
	return rep
}

func summariseOne(name string, rows []*store.ShadowResult, from, to time.Time, days float64, volume Volume) CandidateReport {
	c := CandidateReport{Candidate: name, Comparisons: len(rows)}
	routes, lives := map[string]bool{}, map[string]bool{}
	classN, classK := map[string]int{}, map[string]int{}
	routeN, routeK := map[string]int{}, map[string]int{}
	var liveLat, candLat []int64
	var liveCost, candCost, judgeCost int64
	var agree int
	var inverse float64
	for _, r := range rows {
		if r.CandidateProvider != "" {
			c.Provider, c.Hosting = r.CandidateProvider, r.CandidateHosting
		}
		routes[r.Route], lives[r.Live] = true, true
		ok := r.Verdict == VerdictAgree
		if ok {
			agree++
		}
		if r.Verdict == VerdictError {
			c.Errors++
		}
		classes := r.DataClasses
		if len(classes) == 0 {
			classes = []string{"none"}
		}
		for _, cl := range classes {
			classN[cl]++
			if ok {
				classK[cl]++
			}
		}
		routeN[r.Route]++
		if ok {
			routeK[r.Route]++
		}
		switch r.Judge {
		case "candidate":
			c.Wins++
		case "tie":
			c.Ties++
		case "live":
			c.Losses++
		}
		liveLat = append(liveLat, r.LiveLatencyMS)
		if r.Verdict != VerdictError {
			candLat = append(candLat, r.CandidateLatencyMS)
		}
		liveCost += r.LiveCostNanos
		candCost += r.CandidateCostNanos
		judgeCost += r.JudgeCostNanos
		if r.SampleRate > 0 {
			inverse += 1 / r.SampleRate
		}
	}
	c.Agreement = Wilson(agree, len(rows))
	c.Judged = c.Wins + c.Ties + c.Losses
	if c.Judged > 0 {
		w := Wilson(c.Wins+c.Ties, c.Judged)
		c.WinOrTie = &w
	}
	c.ByClass = slices(classN, classK)
	c.ByRoute = slices(routeN, routeK)
	c.Routes, c.Live = keys(routes), keys(lives)
	c.LiveLatency = Latency{Percentile(liveLat, 50), Percentile(liveLat, 95)}
	c.CandidateLatency = Latency{Percentile(candLat, 50), Percentile(candLat, 95)}
	n := float64(len(rows))
	c.LivePer1000 = float64(liveCost) / 1e9 / n * 1000
	c.CandidatePer1000 = float64(candCost) / 1e9 / n * 1000
	c.JudgePer1000 = float64(judgeCost) / 1e9 / n * 1000
	var vol int64 = -1
	if volume != nil {
		vol = 0
		for _, rt := range c.Routes {
			v := volume(rt, from, to)
			if v < 0 {
				vol = -1
				break
			}
			vol += v
		}
	}
	if vol > 0 {
		c.VolumeSource = "usage"
		c.MonthlyRequests = float64(vol) * monthDays / days
	} else {
		c.VolumeSource = "sample_rate"
		c.MonthlyRequests = inverse * monthDays / days
	}
	c.MonthlyLiveUSD = c.LivePer1000 / 1000 * c.MonthlyRequests
	c.MonthlyIfPromUSD = c.CandidatePer1000 / 1000 * c.MonthlyRequests
	return c
}

func slices(n, k map[string]int) []Slice {
	out := make([]Slice, 0, len(n))
	for name, cnt := range n {
		out = append(out, Slice{Name: name, Agreement: Wilson(k[name], cnt)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Wilson returns k of n with its 95% Wilson score interval (Wilson 1927;
// https://en.wikipedia.org/wiki/Binomial_proportion_confidence_interval#Wilson_score_interval),
// which stays inside [0, 1] and is sensible at small n and at rates near
// 0 or 1, unlike the normal approximation.
func Wilson(k, n int) Rate {
	r := Rate{N: n, K: k}
	if n == 0 {
		return r
	}
	const z = 1.959963984540054
	p := float64(k) / float64(n)
	fn := float64(n)
	den := 1 + z*z/fn
	center := (p + z*z/(2*fn)) / den
	half := z / den * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn))
	r.Rate, r.Low, r.High = p, math.Max(0, center-half), math.Min(1, center+half)
	return r
}

// Percentile is the nearest-rank percentile of v (0 for none).
func Percentile(v []int64, p float64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// UsageVolume counts the attempts recorded for a model or route, from
// the usage summary (the rollups: every attempt at any volume, and after
// raw rows were pruned): one per request that reached an upstream, plus
// its retries and fallbacks, so it overstates requests by the retry rate.
// Shadow calls are recorded under "shadow:<candidate>" and not counted.
// (It counted distinct requests in at most 5,000,000 raw rows: an hour and
// a half at 1,000 requests/s, so a month's projection was a fraction.)
func UsageVolume(ctx context.Context, st store.Store) Volume {
	return func(name string, from, to time.Time) int64 {
		gs, err := st.UsageSummary(ctx, store.UsageFilter{From: from, To: to, Model: name}, nil)
		if err != nil {
			return -1
		}
		if len(gs) == 0 {
			return 0
		}
		return gs[0].Requests
	}
}
