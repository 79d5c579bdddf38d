package difficulty

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Point is one point of a quality-vs-cost curve: sending the Share of
// prompts with the highest scores to the strong model gives Accuracy.
type Point struct {
	Share    float64
	Accuracy float64
}

// Metrics summarise a router on recorded answers.
type Metrics struct {
	N              int
	WeakAccuracy   float64
	StrongAccuracy float64
	// APGR is the area under the accuracy-vs-strong-share curve, less the
	// weak accuracy, over the quality gap (strong - weak). Random routing
	// scores 0.5 in expectation; an oracle scores above 1.
	APGR float64
	// Share50 and Share80 are the strong-call shares needed to recover 50%
	// and 80% of the quality gap (1 when never reached before all calls go
	// to the strong model).
	Share50, Share80 float64
	// Curve holds the points at every distinct score (ties are split
	// evenly, which is what a random tie-break gives in expectation).
	Curve []Point
}

// Evaluate computes the metrics of scores (higher = send to strong) on
// examples (same order).
func Evaluate(examples []Example, scores []float64) Metrics {
	n := len(examples)
	m := Metrics{N: n}
	if n == 0 {
		return m
	}
	idx := make([]int, n)
	var w, s float64
	for i := range idx {
		idx[i] = i
		w += examples[i].Weak
		s += examples[i].Strong
	}
	m.WeakAccuracy, m.StrongAccuracy = w/float64(n), s/float64(n)
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	correct := w
	m.Curve = append(m.Curve, Point{0, correct / float64(n)})
	for i := 0; i < n; {
		j := i
		for j < n && scores[idx[j]] == scores[idx[i]] {
			e := &examples[idx[j]]
			correct += e.Strong - e.Weak
			j++
		}
		m.Curve = append(m.Curve, Point{float64(j) / float64(n), correct / float64(n)})
		i = j
	}
	gap := m.StrongAccuracy - m.WeakAccuracy
	var area float64
	for i := 1; i < len(m.Curve); i++ {
		a, b := m.Curve[i-1], m.Curve[i]
		area += (b.Share - a.Share) * (a.Accuracy + b.Accuracy) / 2
	}
	if gap != 0 {
		m.APGR = (area - m.WeakAccuracy) / gap
	}
	m.Share50 = shareFor(m.Curve, m.WeakAccuracy+0.5*gap)
	m.Share80 = shareFor(m.Curve, m.WeakAccuracy+0.8*gap)
	return m
}

// shareFor is the least share at which the piecewise-linear curve reaches
// target accuracy.
func shareFor(curve []Point, target float64) float64 {
	if curve[0].Accuracy >= target {
		return 0
	}
	for i := 1; i < len(curve); i++ {
		a, b := curve[i-1], curve[i]
		if b.Accuracy >= target {
			if b.Accuracy == a.Accuracy {
				return b.Share
			}
			return a.Share + (b.Share-a.Share)*(target-a.Accuracy)/(b.Accuracy-a.Accuracy)
		}
	}
	return 1
}

// AccuracyAt is the curve's accuracy at a strong share (linear between
// points).
func (m *Metrics) AccuracyAt(share float64) float64 {
	c := m.Curve
	for i := 1; i < len(c); i++ {
		if c[i].Share >= share {
			a, b := c[i-1], c[i]
			if b.Share == a.Share {
				return b.Accuracy
			}
			return a.Accuracy + (b.Accuracy-a.Accuracy)*(share-a.Share)/(b.Share-a.Share)
		}
	}
	if len(c) == 0 {
		return math.NaN()
	}
	return c[len(c)-1].Accuracy
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Threshold returns the score at or above which a share of scores lies:
// routing "score >= threshold" to the strong model sends about share of
// such prompts there. share <= 0 gives a threshold above every score.
func Threshold(scores []float64, share float64) float64 {
	if share <= 0 || len(scores) == 0 {
		return math.Inf(1)
	}
	s := append([]float64(nil), scores...)
	sort.Float64s(s)
	k := int(math.Round(float64(len(s)) * (1 - share)))
	if k <= 0 {
		return math.Inf(-1)
	}
	if k >= len(s) {
		return math.Nextafter(s[len(s)-1], math.Inf(1))
	}
	return s[k]
}

// BootstrapSD is the standard deviation of APGR over reps resamples (with
// replacement, fixed seed) of examples with their scores: how much the APGR
// of one router would move on another sample of the same size. A resample
// in which the two models are equally accurate has no APGR (no gap to
// recover) and is left out; with fewer than two resamples left the result
// is NaN, not a number that looks like a measurement.
func BootstrapSD(examples []Example, scores []float64, reps int) float64 {
	n := len(examples)
	if n == 0 || reps < 2 {
		return 0
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ex := make([]Example, n)
	sc := make([]float64, n)
	var s, ss float64
	k := 0
	for range reps {
		for i := range n {
			j := rng.IntN(n)
			ex[i], sc[i] = examples[j], scores[j]
		}
		m := Evaluate(ex, sc)
		if m.StrongAccuracy == m.WeakAccuracy {
			continue
		}
		s += m.APGR
		ss += m.APGR * m.APGR
		k++
	}
	if k < 2 {
		return math.NaN()
	}
	m := s / float64(k)
	return math.Sqrt(math.Max(ss/float64(k)-m*m, 0) * float64(k) / float64(k-1))
}

// APGRBins is APGR as RouteLLM's evaluation computes it
// (routellm/evals/benchmarks.py and evaluate.py): the thresholds are the
// scores' quantiles at 0, 1/bins, ..., 1 (linear interpolation, as
// pandas.qcut's bin edges), each sends the prompts scoring at or above it
// to the strong model (strictly above for the last, so none), and the area
// under the resulting points is taken by the trapezoid rule. Evaluate uses
// every distinct score instead; on continuous scores the two differ by the
// chords' error, a few thousandths on GSM8K (docs/routing.md).
func APGRBins(examples []Example, scores []float64, bins int) float64 {
	n := len(examples)
	if n == 0 || bins < 1 {
		return math.NaN()
	}
	s := append([]float64(nil), scores...)
	sort.Float64s(s)
	var weak, strong float64
	for _, e := range examples {
		weak += e.Weak / float64(n)
		strong += e.Strong / float64(n)
	}
	if weak == strong {
		return math.NaN()
	}
	pts := make([]Point, 0, bins+1)
	for i := 0; i <= bins; i++ {
		q := float64(i) / float64(bins) * float64(n-1)
		lo := int(q)
		t := s[lo]
		if lo+1 < n {
			t += (q - float64(lo)) * (s[lo+1] - s[lo])
		}
		var k, acc float64
		for j, e := range examples {
			if scores[j] > t || (scores[j] == t && i < bins) {
				k++
				acc += e.Strong
			} else {
				acc += e.Weak
			}
		}
		pts = append(pts, Point{k / float64(n), acc / float64(n)})
	}
	sort.SliceStable(pts, func(a, b int) bool { return pts[a].Share < pts[b].Share })
	var area, span float64
	for i := 1; i < len(pts); i++ {
		w := pts[i].Share - pts[i-1].Share
		area += w * (pts[i].Accuracy + pts[i-1].Accuracy) / 2
		span += w
	}
	return (area - weak*span) / ((strong - weak) * span)
}
