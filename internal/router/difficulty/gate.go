package difficulty

import (
	"fmt"
	"math"
	"sort"
)

// Gate is a gated mixture of routers: one expert per known domain (a router
// trained on that domain alone), and a gate that says which known domain a
// prompt comes from, or that it comes from none of them. A prompt of a known
// domain is scored by that domain's expert, anything else by the length rule
// ("longer prompts to the strong model"). Experts trained on one benchmark
// do not transfer to another (docs/routing.md), so each is used only where
// its own kind of prompt is recognised.
//
// The gate: each prompt is a vector over hashed word buckets (the distinct
// words, as the word features read them), each present bucket weighted by
// its inverse document frequency, L2-normalised. Each domain has a centroid
// (the mean of its training prompts' vectors, L2-normalised) and a threshold
// (the GateQuantile-th quantile of its own training prompts' cosine
// similarity to the centroid without them, so that about 1 - GateQuantile of
// the domain's new prompts pass). The prompt goes to the passed domain with
// the highest similarity; when none passes, to the length rule.
//
// Scores of different experts are not comparable, so every score is mapped
// to its quantile: an expert's score to its rank among its own domain's
// training prompts (the expert's Quantiles), a prompt's length to its rank
// among all training prompts (Length). A router ranks prompts and sets its
// threshold by the quantiles of its scores, so one common scale is all it
// needs.
type Gate struct {
	// IDF is each word bucket's inverse document frequency, -ln of the
	// share of training prompts that contain it, each domain weighing the
	// same (so the words every prompt of one domain has still tell that
	// domain from the others).
	IDF []float64 `json:"idf"`
	// Domains are the known domains.
	Domains []GateDomain `json:"domains"`
	// Length are the prompt lengths in bytes of all training prompts at 0%,
	// 1%, ..., 100%.
	Length []float64 `json:"length"`
}

// GateDomain is one known domain of a Gate.
type GateDomain struct {
	Name string `json:"name"`
	// Centroid is the L2-normalised mean of the domain's training prompt
	// vectors, over len(Gate.IDF) buckets.
	Centroid []float64 `json:"centroid"`
	// Threshold is the least cosine similarity to Centroid of a prompt the
	// gate gives to this domain.
	Threshold float64 `json:"threshold"`
	// Expert scores the domain's prompts; its Quantiles map a score to its
	// rank among the domain's training prompts.
	Expert *Model `json:"expert"`
}

// Gate design constants, fixed before any result was seen.
const (
	// GateBuckets is the number of word buckets of the gate's vectors.
	GateBuckets = 4096
	// GateQuantile: a domain's threshold is this quantile of its own
	// training prompts' similarities, so about 90% of them pass.
	GateQuantile = 0.10
	// maxGateDomains bounds the domains of a gate (scoring keeps their
	// similarities in an array, without allocating).
	maxGateDomains = 16
)

// GateData is one known domain's training prompts and its expert.
type GateData struct {
	Name     string
	Examples []Example
	Expert   *Model // with Quantiles on Examples (TrainAndBlend writes them)
}

// FitGate builds the gate over domains (in the order given), each domain's
// threshold at quantile q of its own similarities (0: GateQuantile). It is
// deterministic.
func FitGate(domains []GateData, q float64) (*Gate, error) {
	if q == 0 {
		q = GateQuantile
	}
	if len(domains) == 0 || len(domains) > maxGateDomains {
		return nil, fmt.Errorf("difficulty: gate: %d domains, want 1 to %d", len(domains), maxGateDomains)
	}
	const nb = GateBuckets
	g := &Gate{IDF: make([]float64, nb)}
	// Document frequency, each domain weighing the same, smoothed so that a
	// bucket no training prompt has gets a large but finite weight.
	df := make([]float64, nb)
	bucketsOf := func(p string) []int {
		var bs []int
		wordBuckets(p, nb, false, func(b int, _ float64) { bs = append(bs, b) })
		return bs
	}
	words := make([][][]int, len(domains))
	var lengths []float64
	for k, d := range domains {
		if len(d.Examples) < 2 {
			return nil, fmt.Errorf("difficulty: gate: domain %q has %d prompts, want at least 2", d.Name, len(d.Examples))
		}
		if d.Expert == nil || len(d.Expert.Quantiles) != 101 {
			return nil, fmt.Errorf("difficulty: gate: domain %q has no expert with quantiles", d.Name)
		}
		cnt := make([]float64, nb)
		words[k] = make([][]int, len(d.Examples))
		for i, e := range d.Examples {
			words[k][i] = bucketsOf(e.Prompt)
			for _, b := range words[k][i] {
				cnt[b]++
			}
			lengths = append(lengths, float64(len(e.Prompt)))
		}
		n := float64(len(d.Examples))
		for b := range df {
			df[b] += (cnt[b] + 0.5) / (n + 1) / float64(len(domains))
		}
	}
	for b := range g.IDF {
		g.IDF[b] = -math.Log(df[b])
	}
	for k, d := range domains {
		// Unit vectors of the prompts, their sum, and the centroid.
		sum := make([]float64, nb)
		vec := func(bs []int) (norm float64) {
			for _, b := range bs {
				norm += g.IDF[b] * g.IDF[b]
			}
			return math.Sqrt(norm)
		}
		norms := make([]float64, len(d.Examples))
		for i, bs := range words[k] {
			norms[i] = vec(bs)
			if norms[i] == 0 {
				continue
			}
			for _, b := range bs {
				sum[b] += g.IDF[b] / norms[i]
			}
		}
		c := unit(sum)
		// Leave-one-out similarities: the centroid without prompt i is
		// sum - v_i, normalised, so the threshold is what a new prompt of the
		// domain would see (it matters for small domains).
		var ss float64
		for _, v := range sum {
			ss += v * v
		}
		sims := make([]float64, len(d.Examples))
		for i, bs := range words[k] {
			if norms[i] == 0 {
				continue
			}
			var dot float64 // v_i · sum
			for _, b := range bs {
				dot += g.IDF[b] / norms[i] * sum[b]
			}
			// |sum - v_i|^2 = |sum|^2 - 2 v_i·sum + 1; (sum - v_i)·v_i = dot - 1.
			if n2 := ss - 2*dot + 1; n2 > 1e-12 {
				sims[i] = (dot - 1) / math.Sqrt(n2)
			}
		}
		sort.Float64s(sims)
		thr := sims[int(math.Floor(q*float64(len(sims)-1)))]
		g.Domains = append(g.Domains, GateDomain{Name: d.Name, Centroid: c, Threshold: thr, Expert: d.Expert})
	}
	sort.Float64s(lengths)
	g.Length = make([]float64, 101)
	for i := range g.Length {
		g.Length[i] = lengths[min(len(lengths)-1, int(math.Round(float64(i)/100*float64(len(lengths)-1))))]
	}
	return g, nil
}

func unit(v []float64) []float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	out := make([]float64, len(v))
	if s == 0 {
		return out
	}
	s = math.Sqrt(s)
	for i, x := range v {
		out[i] = x / s
	}
	return out
}

// Route returns the index in Domains of the domain the gate gives prompt
// to, or -1 for none (the length rule).
func (g *Gate) Route(prompt string) int {
	var dots [maxGateDomains]float64
	var norm float64
	nd := len(g.Domains)
	wordBuckets(prompt, len(g.IDF), false, func(b int, _ float64) {
		w := g.IDF[b]
		norm += w * w
		for k := range nd {
			dots[k] += w * g.Domains[k].Centroid[b]
		}
	})
	if norm == 0 {
		return -1
	}
	norm = math.Sqrt(norm)
	best, bestSim := -1, 0.0
	for k := range nd {
		s := dots[k] / norm
		if s >= g.Domains[k].Threshold && (best < 0 || s > bestSim) {
			best, bestSim = k, s
		}
	}
	return best
}

// Similarity is the cosine similarity of prompt's vector to a centroid
// (for diagnostics; Route computes all of them in one pass).
func (g *Gate) Similarity(prompt string, centroid []float64) float64 {
	var dot, norm float64
	wordBuckets(prompt, len(g.IDF), false, func(b int, _ float64) {
		w := g.IDF[b]
		norm += w * w
		dot += w * centroid[b]
	})
	if norm == 0 {
		return 0
	}
	return dot / math.Sqrt(norm)
}

// score is the gated score in (0, 1): the prompt's quantile under its
// domain's expert, or under the length distribution when no domain claims
// it.
func (g *Gate) score(prompt string) float64 {
	if k := g.Route(prompt); k >= 0 {
		e := g.Domains[k].Expert
		s := e.Score(prompt)
		return onScale(rankIn(e.Quantiles, s), s)
	}
	l := float64(len(prompt))
	return onScale(rankIn(g.Length, l), l/(l+1000))
}

// onScale maps a quantile q in [0, 1] into (0, 1), with tie in (0, 1), a
// value increasing with the raw score, breaking the ties a quantile has
// beyond the ends of its table (below the least or above the largest
// training score) without changing any other order by more than 1e-6.
func onScale(q, tie float64) float64 { return 1e-6 + q*(1-3e-6) + tie*1e-6 }

// rankIn is x's position in the sorted table qs (101 quantiles) as a share
// in [0, 1], linear between entries: monotone in x, strictly where the
// table is.
func rankIn(qs []float64, x float64) float64 {
	n := len(qs) - 1
	if x < qs[0] {
		return 0
	}
	if x >= qs[n] {
		return 1
	}
	// The last i with qs[i] <= x; then qs[i] <= x < qs[i+1].
	i := sort.Search(n+1, func(j int) bool { return qs[j] > x }) - 1
	return (float64(i) + (x-qs[i])/(qs[i+1]-qs[i])) / float64(n)
}

func (g *Gate) check() error {
	if len(g.IDF) < 1 || len(g.IDF) > 4096 {
		return fmt.Errorf("difficulty: gate: %d word buckets, want 1 to 4096", len(g.IDF))
	}
	if len(g.Domains) < 1 || len(g.Domains) > maxGateDomains {
		return fmt.Errorf("difficulty: gate: %d domains, want 1 to %d", len(g.Domains), maxGateDomains)
	}
	if len(g.Length) != 101 || !sort.Float64sAreSorted(g.Length) {
		return fmt.Errorf("difficulty: gate: length quantiles: want 101 in ascending order")
	}
	for i := range g.Domains {
		d := &g.Domains[i]
		if len(d.Centroid) != len(g.IDF) {
			return fmt.Errorf("difficulty: gate: domain %q: %d centroid buckets, want %d", d.Name, len(d.Centroid), len(g.IDF))
		}
		if d.Expert == nil {
			return fmt.Errorf("difficulty: gate: domain %q: no expert", d.Name)
		}
		if d.Expert.Gate != nil {
			return fmt.Errorf("difficulty: gate: domain %q: an expert cannot have a gate", d.Name)
		}
		if err := d.Expert.validate(); err != nil {
			return fmt.Errorf("difficulty: gate: domain %q: expert: %w", d.Name, err)
		}
		if len(d.Expert.Quantiles) != 101 || !sort.Float64sAreSorted(d.Expert.Quantiles) {
			return fmt.Errorf("difficulty: gate: domain %q: expert: want 101 quantiles in ascending order", d.Name)
		}
	}
	return nil
}

// rounded is a copy of g for the file: thresholds and quantiles rounded by
// round (6 digits), the vectors to 5 digits, each expert by expert.
func (g *Gate) rounded(round func(float64) float64, expert func(*Model) *Model) *Gate {
	r5 := func(v float64) float64 { return math.Round(v*1e5) / 1e5 }
	c := &Gate{IDF: roundAll(g.IDF, r5), Length: roundAll(g.Length, round)}
	for _, d := range g.Domains {
		c.Domains = append(c.Domains, GateDomain{Name: d.Name, Centroid: roundAll(d.Centroid, r5), Threshold: round(d.Threshold), Expert: expert(d.Expert)})
	}
	return c
}

// TrainGated returns the gated mixture over domains (thresholds at quantile
// q, see FitGate) (their experts already
// trained, see GateData) as a Model: a router file that carries the gate and
// the experts, with Quantiles over all the domains' prompts so that
// strong_share maps to a threshold. The model is what Parse reads back from
// its Marshal output (numbers rounded as in the file), so what is measured
// on it is what a file scores.
func TrainGated(domains []GateData, q float64, label string) (*Model, error) {
	g, err := FitGate(domains, q)
	if err != nil {
		return nil, err
	}
	m := &Model{Gate: g, Label: label}
	var all []Example
	for _, d := range domains {
		all = append(all, d.Examples...)
	}
	m.Quantiles = quantiles(m, all)
	b, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	return Parse(b)
}
