package difficulty

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// RobustOptions tunes TrainRobust. Zero fields take the defaults noted.
type RobustOptions struct {
	// Label maps an example to the target in [0, 1]. Default LabelGain.
	Label func(e *Example) float64
	// Buckets is the number of hashed word features (0: none). Default 0.
	Buckets int
	// Bigrams adds pairs of consecutive words to the hashed word features.
	Bigrams bool
	// CharNgrams adds the character 3- to 5-grams of every word to the
	// hashed word features (same buckets; see hashedBuckets).
	CharNgrams bool
	// L2 penalises the dense weights' distance from the prior; L2Words the
	// word weights' distance from 0. Defaults 0.05 and 0.05.
	L2, L2Words float64
	// Prior is the weight, per standard deviation of log_chars, the model
	// is pulled towards: the "longer prompts to the strong model" rule.
	// With strong penalties the model is that rule. Default 0.
	Prior float64
	// Dense limits the dense features to these names (nil: all base
	// features, and the structure features with Structure).
	Dense []string
	// Structure adds the structure features (structure.go) to the dense
	// features: quantities, operation cues and references back for word
	// problems, question form and answer options for multiple choice.
	// Off, the model is what it was before they existed.
	Structure bool
	// Average, when set, trains one model per word penalty listed (in
	// place of L2Words) and averages their weights: a ranking with less
	// variance than any one of them. Features and standardisation are the
	// same, so the average is one linear model.
	Average []float64
	// Contrast fits one model of the strong model's quality and one of the
	// weak model's (Label is ignored) and subtracts the second's weights from
	// the first's: the logit ranks by logit P(strong right) - logit P(weak
	// right), still one linear model.
	Contrast bool
	// WithinDomain fits what tells prompts apart within each domain (the
	// part of Example.Domain before the first "/"), not what tells the
	// domains apart: dense features are centred on their domain's mean
	// (scaled by the overall standard deviation, so a feature that hardly
	// varies within a domain cannot get a huge weight), and each
	// domain gets its own intercept (the model keeps their mean). A router
	// only ranks prompts of one kind of traffic against each other, so
	// differences between benchmarks are noise to it.
	WithinDomain bool
	// Choose makes TrainAndBlend pick the learner too: each of Learners
	// (Contrast and Boost set as they say, the other options as given) is
	// tried on the tuning third with every blend weight.
	Choose bool
	// Boost adds this many gradient-boosted stumps (see Stump) over the
	// dense features, fitted to what the linear model leaves. Default 0.
	Boost int
	// Iters is the number of full-batch Adam steps. Default 300.
	Iters     int
	LabelName string
}

// TrainRobust fits a logistic model of the label on the dense features
// (standardised) and hashed word features, each domain (the part of
// Example.Domain before the first "/") weighing the same in total, with
// the dense weights shrunk towards the length prior and the word weights
// towards zero. It is deterministic.
func TrainRobust(examples []Example, o RobustOptions) *Model {
	if len(o.Average) > 0 {
		ls := o.Average
		o.Average = nil
		var avg *Model
		k := float64(len(ls))
		for _, l := range ls {
			o.L2Words = l
			m := TrainRobust(examples, o)
			if avg == nil {
				avg = m
				avg.Bias /= k
				for i := range avg.Features {
					avg.Features[i].Weight /= k
				}
				for i := range avg.Words {
					avg.Words[i] /= k
				}
				avg.Stumps = scaleStumps(avg.Stumps, 1/k)
				continue
			}
			avg.Bias += m.Bias / k
			for i := range avg.Features {
				avg.Features[i].Weight += m.Features[i].Weight / k
			}
			for i := range avg.Words {
				avg.Words[i] += m.Words[i] / k
			}
			avg.Stumps = append(avg.Stumps, scaleStumps(m.Stumps, 1/k)...)
		}
		return avg
	}
	if o.Contrast {
		o.Contrast = false
		o.Label = func(e *Example) float64 { return e.Strong }
		m := TrainRobust(examples, o)
		o.Label = func(e *Example) float64 { return e.Weak }
		w := TrainRobust(examples, o)
		m.Bias -= w.Bias
		for i := range m.Features {
			m.Features[i].Weight -= w.Features[i].Weight
		}
		for i := range m.Words {
			m.Words[i] -= w.Words[i]
		}
		for _, st := range w.Stumps {
			st.Left, st.Right = -st.Left, -st.Right
			m.Stumps = append(m.Stumps, st)
		}
		return m
	}
	if o.Label == nil {
		o.Label = LabelGain
	}
	if o.L2 == 0 {
		o.L2 = 0.05
	}
	if o.L2Words == 0 {
		o.L2Words = 0.05
	}
	if o.Iters == 0 {
		o.Iters = 300
	}
	n := len(examples)
	// Dense features.
	var cols []int
	if o.Dense == nil {
		n := nBase
		if o.Structure {
			n = nFeatures
		}
		for j := range n {
			cols = append(cols, j)
		}
	} else {
		pos := map[string]int{}
		for i, nm := range FeatureNames {
			pos[nm] = i
		}
		for _, nm := range o.Dense {
			cols = append(cols, pos[nm])
		}
	}
	d := len(cols)
	x := make([][]float64, n)
	y := make([]float64, n)
	wt := make([]float64, n)
	domains := map[string]float64{}
	dom := func(e *Example) string { s, _, _ := strings.Cut(e.Domain, "/"); return s }
	for i := range examples {
		domains[dom(&examples[i])]++
	}
	buf := make([]float64, nFeatures)
	for i := range examples {
		extract(examples[i].Prompt, buf)
		x[i] = make([]float64, d)
		for k, j := range cols {
			x[i][k] = buf[j]
		}
		y[i] = o.Label(&examples[i])
		wt[i] = float64(n) / (float64(len(domains)) * domains[dom(&examples[i])])
	}
	m := &Model{Label: o.LabelName, Features: make([]Weight, d), Bigrams: o.Bigrams && o.Buckets > 0, CharNgrams: o.CharNgrams && o.Buckets > 0}
	prior := make([]float64, d)
	for k, j := range cols {
		w := Weight{Name: FeatureNames[j]}
		for i := range x {
			w.Mean += x[i][k] / float64(n)
		}
		for i := range x {
			w.Std += (x[i][k] - w.Mean) * (x[i][k] - w.Mean) / float64(n)
		}
		w.Std = math.Sqrt(w.Std)
		m.Features[k] = w
		if w.Name == "log_chars" {
			prior[k] = o.Prior
		}
	}
	var raw [][]float64
	if o.Boost > 0 {
		raw = make([][]float64, n)
		for i := range x {
			raw[i] = append([]float64(nil), x[i]...)
		}
	}
	// centre[i] is what example i's features are centred on: the global
	// means, or with WithinDomain its domain's means.
	centre := make([][]float64, n)
	for i := range centre {
		centre[i] = make([]float64, d)
		for k := range d {
			centre[i][k] = m.Features[k].Mean
		}
	}
	dix := make([]int, n) // example i's domain, for the intercepts
	nb := 1
	if o.WithinDomain && len(domains) > 1 {
		names := make([]string, 0, len(domains))
		for nm := range domains {
			names = append(names, nm)
		}
		sort.Strings(names)
		id := map[string]int{}
		for j, nm := range names {
			id[nm] = j
		}
		nb = len(names)
		mu := make([][]float64, nb)
		for j := range mu {
			mu[j] = make([]float64, d)
		}
		for i := range x {
			dix[i] = id[dom(&examples[i])]
			for k, v := range x[i] {
				mu[dix[i]][k] += v / domains[names[dix[i]]]
			}
		}
		for i := range centre {
			centre[i] = mu[dix[i]]
		}
	}
	for i := range x {
		for k := range x[i] {
			if s := m.Features[k].Std; s > 0 {
				x[i][k] = (x[i][k] - centre[i][k]) / s
			} else {
				x[i][k] = 0
			}
		}
	}
	type wv struct {
		b int
		v float64
	}
	words := make([][]wv, n)
	if o.Buckets > 0 {
		for i := range examples {
			hashedBuckets(examples[i].Prompt, o.Buckets, o.Bigrams, o.CharNgrams, func(b int, v float64) { words[i] = append(words[i], wv{b, v}) })
		}
	}
	// Parameters: dense (from the prior), words, one bias per domain
	// (one in all without WithinDomain); Adam.
	nw := d + o.Buckets
	nd := nw + nb
	beta := make([]float64, nd)
	copy(beta, prior)
	g := make([]float64, nd)
	m1 := make([]float64, nd)
	m2 := make([]float64, nd)
	const lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
	for it := 1; it <= o.Iters; it++ {
		clear(g)
		for i := range x {
			z := beta[nw+dix[i]]
			for k, v := range x[i] {
				z += beta[k] * v
			}
			for _, w := range words[i] {
				z += beta[d+w.b] * w.v
			}
			r := wt[i] * (sigmoid(z) - y[i]) / float64(n)
			for k, v := range x[i] {
				g[k] += r * v
			}
			for _, w := range words[i] {
				g[d+w.b] += r * w.v
			}
			g[nw+dix[i]] += r
		}
		for k := range d {
			g[k] += o.L2 * (beta[k] - prior[k])
		}
		for k := d; k < nw; k++ {
			g[k] += o.L2Words * beta[k]
		}
		c1, c2 := 1-math.Pow(b1, float64(it)), 1-math.Pow(b2, float64(it))
		for k := range beta {
			m1[k] = b1*m1[k] + (1-b1)*g[k]
			m2[k] = b2*m2[k] + (1-b2)*g[k]*g[k]
			beta[k] -= lr * (m1[k] / c1) / (math.Sqrt(m2[k]/c2) + eps)
		}
	}
	for k := range d {
		m.Features[k].Weight = beta[k]
	}
	if o.Buckets > 0 {
		m.Words = beta[d : d+o.Buckets]
	}
	for _, b := range beta[nw:] {
		m.Bias += b / float64(nb)
	}
	if o.Boost > 0 {
		z := make([]float64, n)
		for i := range x {
			z[i] = beta[nw+dix[i]]
			for k, v := range x[i] {
				z[i] += beta[k] * v
			}
			for _, w := range words[i] {
				z[i] += beta[d+w.b] * w.v
			}
		}
		m.Stumps = boost(raw, cols, y, wt, z, o.Boost)
	}
	if err := m.link(); err != nil {
		panic(err)
	}
	return m
}

// Blend returns a model whose logit is the standardised length of the
// prompt (the "longer prompts to the strong model" rule) plus alpha times
// m's logit standardised on examples: alpha 0 is the length rule, large
// alpha is m. It keeps m's ranking power where it generalises and falls
// back towards the length rule where it does not.
func Blend(m *Model, examples []Example, alpha float64) *Model {
	n := float64(len(examples))
	var sz, szz, sl, sll float64
	buf := make([]float64, nFeatures)
	for i := range examples {
		z := logit(m.Score(examples[i].Prompt))
		extract(examples[i].Prompt, buf)
		l := buf[0]
		sz += z
		szz += z * z
		sl += l
		sll += l * l
	}
	sdz := math.Sqrt(math.Max(szz/n-(sz/n)*(sz/n), 1e-12))
	ml := sl / n
	sdl := math.Sqrt(math.Max(sll/n-ml*ml, 1e-12))
	k := alpha / sdz
	out := &Model{Label: m.Label, Bias: m.Bias * k, Bigrams: m.Bigrams, CharNgrams: m.CharNgrams}
	found := false
	for _, w := range m.Features {
		w.Weight *= k
		if w.Name == "log_chars" && w.Std > 0 {
			// One standard deviation of length adds 1, on m's scale.
			w.Weight += w.Std / sdl
			found = true
		}
		out.Features = append(out.Features, w)
	}
	if !found {
		out.Features = append(out.Features, Weight{Name: "log_chars", Mean: ml, Std: sdl, Weight: 1})
	}
	for _, w := range m.Words {
		out.Words = append(out.Words, w*k)
	}
	out.Stumps = scaleStumps(m.Stumps, k)
	if err := out.link(); err != nil {
		panic(err)
	}
	return out
}

// scaleStumps returns copies of ss with their values times k.
func scaleStumps(ss []Stump, k float64) []Stump {
	var out []Stump
	for _, s := range ss {
		s.Left, s.Right = s.Left*k, s.Right*k
		out = append(out, s)
	}
	return out
}

func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-12), 1-1e-12)
	return math.Log(p / (1 - p))
}

// Alphas are the blend weights of the learned model TrainAndBlend
// chooses from; Betas those of the topic score.
var (
	Alphas = []float64{0, 0.1, 0.3, 1, 3}
	Betas  = []float64{0, 1, 2, 4, 8, 16}
)

// AverageL2Words are the word penalties route-train --average averages over.
var AverageL2Words = []float64{0.001, 0.003, 0.01}

// TopicBuckets is the number of word buckets of the topic classifier.
const TopicBuckets = 4096

// Default training options for TrainAndBlend, chosen on the training
// halves (docs/routing.md).
const (
	DefaultBuckets  = 0
	DefaultRobustL2 = 0.1
)

// RouteTrainOptions are the options fulcrum route-train passes to
// TrainAndBlend for its flags (--word-buckets, --bigrams, --average,
// --structure): the dense penalty DefaultRobustL2, word penalty 0.001, 600
// steps.
func RouteTrainOptions(buckets int, bigrams, average, structure bool, label string) RobustOptions {
	o := RobustOptions{Buckets: buckets, Bigrams: bigrams, Structure: structure, L2: DefaultRobustL2, L2Words: 0.001, Iters: 600, LabelName: label}
	if average {
		o.Average = AverageL2Words
	}
	return o
}

// TrainResult describes a TrainAndBlend run.
type TrainResult struct {
	Model *Model
	// Alpha and Beta are the blend weights chosen on the tuning part.
	Alpha, Beta float64
	// TuneAPGR is the APGR on the tuning part by "alpha/beta".
	TuneAPGR map[string]float64
	// Topics is how many topics the classifier knows (0: none).
	Topics int
	// Learner is the learner chosen (with RobustOptions.Choose) or given.
	Learner Learner
}

// Learner is a choice of learner for TrainAndBlend: the label and the
// boosted stumps.
type Learner struct {
	Contrast bool
	Boost    int
}

// Learners are the learners RobustOptions.Choose picks from.
var Learners = []Learner{{}, {Contrast: true}, {Boost: 50}, {Contrast: true, Boost: 50}}

func (l Learner) apply(o RobustOptions) RobustOptions {
	o.Contrast, o.Boost, o.Choose = l.Contrast, l.Boost, false
	return o
}

func (l Learner) String() string {
	s := "gain"
	if l.Contrast {
		s = "contrast"
	}
	if l.Boost > 0 {
		s += fmt.Sprintf("+boost%d", l.Boost)
	}
	return s
}

// TrainAndBlend trains on examples and blends the model with the length
// rule and, when the examples carry two or more domain labels with enough
// examples, a topic score (FitTopics): it fits on two thirds of examples (by
// a hash of the prompt), picks the weights (Alphas × Betas) with the best
// APGR on the other third, then refits on all examples with them. Alpha
// and beta 0 (the length rule alone) win when nothing learned generalises
// to the tuning third.
func TrainAndBlend(examples []Example, o RobustOptions) TrainResult {
	var fit, tune []Example
	for _, e := range examples {
		if fnv32(e.Prompt)>>1%3 == 0 {
			tune = append(tune, e)
		} else {
			fit = append(fit, e)
		}
	}
	res := TrainResult{TuneAPGR: map[string]float64{}}
	learners := []Learner{{Contrast: o.Contrast, Boost: o.Boost}}
	if o.Choose {
		learners = Learners
	}
	res.Learner = learners[0]
	final := learners[0].apply(o)
	betas := []float64{0}
	best := -1.0
	if len(tune) > 0 && len(fit) > 0 {
		topics := FitTopics(fit, TopicBuckets)
		if topics != nil {
			betas = Betas
		}
		for _, l := range learners {
			ol := l.apply(o)
			m := TrainRobust(fit, ol)
			for _, a := range Alphas {
				b := Blend(m, fit, a)
				for _, beta := range betas {
					if topics != nil {
						t := *topics
						t.Weight = beta
						b.Topics = &t
					}
					s := make([]float64, len(tune))
					for i := range tune {
						s[i] = b.Score(tune[i].Prompt)
					}
					v := Evaluate(tune, s).APGR
					key := fmt.Sprintf("%g/%g", a, beta)
					if o.Choose {
						key = l.String() + " " + key
					}
					res.TuneAPGR[key] = v
					if v > best+1e-9 {
						best, res.Alpha, res.Beta, res.Learner, final = v, a, beta, l, ol
					}
				}
			}
		}
	}
	res.Model = Blend(TrainRobust(examples, final), examples, res.Alpha)
	if res.Beta > 0 {
		if t := FitTopics(examples, TopicBuckets); t != nil {
			t.Weight = res.Beta
			res.Model.Topics = t
			res.Topics = len(t.Names)
		}
	}
	res.Model.Quantiles = quantiles(res.Model, examples)
	return res
}

// quantiles are the model's scores on examples at 0%, 1%, ..., 100%: the
// prompt router turns strong_share into a threshold with them.
func quantiles(m *Model, examples []Example) []float64 {
	s := make([]float64, len(examples))
	for i := range examples {
		s[i] = m.Score(examples[i].Prompt)
	}
	sort.Float64s(s)
	q := make([]float64, 101)
	for i := range q {
		q[i] = s[min(len(s)-1, int(math.Round(float64(i)/100*float64(len(s)-1))))]
	}
	return q
}

// ThresholdFor is the score at or above which about share of the prompts
// the model was trained on lie, from its quantiles; ok is false when the
// model has none.
func (m *Model) ThresholdFor(share float64) (float64, bool) {
	if len(m.Quantiles) != 101 {
		return 0, false
	}
	if share <= 0 {
		return math.Inf(1), true
	}
	if share >= 1 {
		return math.Inf(-1), true
	}
	x := (1 - share) * 100
	i := int(math.Floor(x))
	f := x - float64(i)
	if i >= 100 {
		return m.Quantiles[100], true
	}
	return m.Quantiles[i] + f*(m.Quantiles[i+1]-m.Quantiles[i]), true
}

// DefaultGrid are the blend weights TrainDefault tries, ascending.
var DefaultGrid = []float64{0, 0.02, 0.05, 0.1, 0.2, 0.3}

// TrainDefault builds the embedded model: for each blend weight of grid
// (ascending), trains on the training halves of all domains but one and
// scores the left-out domain's held-out half; keeps the largest weight
// whose APGR is at least the length rule's on every left-out domain; then
// trains on every domain's training half and blends with it. table is the
// leave-one-domain-out result in Markdown.
func TrainDefault(grid []float64, o RobustOptions) (m *Model, alpha float64, table string, err error) {
	train := map[string][]Example{}
	held := map[string][]Example{}
	var all []Example
	for _, d := range Domains {
		ex, err := LoadDomain(d)
		if err != nil {
			return nil, 0, "", err
		}
		train[d], held[d] = Split(ex)
		all = append(all, train[d]...)
	}
	apgr := func(sc func(string) float64, ex []Example) float64 {
		s := make([]float64, len(ex))
		for i := range ex {
			s[i] = sc(ex[i].Prompt)
		}
		return Evaluate(ex, s).APGR
	}
	length := func(p string) float64 { return float64(len(p)) }
	var b strings.Builder
	b.WriteString("| left out | length rule |")
	for _, a := range grid {
		fmt.Fprintf(&b, " blend %g |", a)
	}
	b.WriteString("\n|---|---:|" + strings.Repeat("---:|", len(grid)) + "\n")
	ok := make([]bool, len(grid))
	for i := range ok {
		ok[i] = true
	}
	for _, d := range Domains {
		var tr []Example
		for _, o2 := range Domains {
			if o2 != d {
				tr = append(tr, train[o2]...)
			}
		}
		lm := TrainRobust(tr, o)
		base := apgr(length, held[d])
		fmt.Fprintf(&b, "| %s | %.3f |", d, base)
		for i, a := range grid {
			v := apgr(Blend(lm, tr, a).Score, held[d])
			fmt.Fprintf(&b, " %.3f |", v)
			if v < base-1e-9 {
				ok[i] = false
			}
		}
		b.WriteString("\n")
	}
	for i, a := range grid {
		if ok[i] {
			alpha = a
		}
	}
	m = Blend(TrainRobust(all, o), all, alpha)
	m.Quantiles = quantiles(m, all)
	return m, alpha, b.String(), nil
}
