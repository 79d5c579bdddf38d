package difficulty

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/dataset"
)

// Example is one recorded prompt with both models' outcomes.
type Example struct {
	Prompt string
	// Weak and Strong are each model's quality on the prompt in [0, 1]:
	// 1 or 0 for a correct or wrong answer, or a judge's score scaled.
	Weak, Strong float64
	// Domain labels where the prompt comes from (e.g. "mmlu/anatomy");
	// training weighs domains equally. Optional.
	Domain string
	// Steps is the number of calculations in the reference solution (GSM8K
	// "<<...>>" annotations), or -1 when unknown. Training may use it; a
	// router never sees it.
	Steps int
}

// LoadGSM8K reads the embedded recordings (Mixtral-8x7B as weak, GPT-4 as
// strong) joined with the reference solutions' step counts.
func LoadGSM8K() ([]Example, error) {
	rd := csv.NewReader(bytes.NewReader(dataset.GSM8KResponses()))
	rows, err := rd.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("difficulty: gsm8k responses: %w", err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("difficulty: gsm8k responses: no rows")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	ip, iw, is := col["prompt"], col[dataset.GSM8KWeak], col[dataset.GSM8KStrong]
	if ip != 0 || iw == 0 || is == 0 {
		return nil, fmt.Errorf("difficulty: gsm8k responses: unexpected header %q", rows[0])
	}
	steps := map[string]int{}
	for _, line := range bytes.Split(dataset.GSM8KTest(), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var q struct{ Question, Answer string }
		if err := json.Unmarshal(line, &q); err != nil {
			return nil, fmt.Errorf("difficulty: gsm8k test: %w", err)
		}
		steps[strings.TrimSpace(q.Question)] = strings.Count(q.Answer, "<<")
	}
	out := make([]Example, 0, len(rows)-1)
	for _, r := range rows[1:] {
		e := Example{Prompt: r[ip], Weak: b2f(r[iw] == "True"), Strong: b2f(r[is] == "True"), Steps: -1, Domain: "gsm8k"}
		if s, ok := steps[strings.TrimSpace(e.Prompt)]; ok {
			e.Steps = s
		}
		out = append(out, e)
	}
	return out, nil
}

// Heldout reports whether a prompt belongs to the held-out half: FNV-1a of
// the prompt, low bit set. The split is fixed before any tuning; Train and
// calibration use only the other half.
func Heldout(prompt string) bool { return fnv32(prompt)&1 == 1 }

// Split divides examples into the training and held-out halves.
func Split(all []Example) (train, heldout []Example) {
	for _, e := range all {
		if Heldout(e.Prompt) {
			heldout = append(heldout, e)
		} else {
			train = append(train, e)
		}
	}
	return train, heldout
}

// TrainOptions tunes Train. Zero fields take the defaults noted.
type TrainOptions struct {
	// Label maps an example to the training target in [0, 1]. Default
	// LabelGain.
	Label func(e *Example) float64
	// Keep is how many features the model keeps: those most correlated
	// with the label on the training examples. Default 40.
	Keep int
	// L2 is the ridge penalty on the standardised weights, per example.
	// Default 0.01.
	L2 float64
	// LabelName is recorded in the model.
	LabelName string
}

// Defaults of TrainOptions, chosen by repeated 5-fold cross-validation on
// the training half (CrossValidate; go run ./internal/router/difficulty/cmd/train -cv).
const (
	DefaultKeep = 40
	DefaultL2   = 0.01
)

// LabelGain is (1 + strong - weak) / 2: 1 when routing to the strong model
// gains a correct answer (strong right, weak wrong), 0 when it loses one
// (weak right, strong wrong), and 0.5 when it changes nothing; scores in
// between for judged answers. The logistic model then ranks by the
// expected gain of a strong call.
func LabelGain(e *Example) float64 { return (1 + e.Strong - e.Weak) / 2 }

// Train screens the features (keeping the Keep most correlated with the
// label, by absolute Pearson correlation) and fits a logistic regression on
// them (soft labels, L2 penalty, Newton's method). It is deterministic.
func Train(examples []Example, o TrainOptions) *Model {
	if o.Label == nil {
		o.Label = LabelGain
	}
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	if o.L2 == 0 {
		o.L2 = DefaultL2
	}
	n := len(examples)
	xs := make([][]float64, n)
	ys := make([]float64, n)
	for i := range examples {
		xs[i] = make([]float64, nFeatures)
		extract(examples[i].Prompt, xs[i])
		ys[i] = o.Label(&examples[i])
	}
	keep := screen(xs, ys, o.Keep)
	m := &Model{Label: o.LabelName, Features: make([]Weight, len(keep))}
	z := make([][]float64, n) // standardised kept features, then 1 for the bias
	for k, j := range keep {
		w := Weight{Name: FeatureNames[j]}
		for i := range xs {
			w.Mean += xs[i][j] / float64(n)
		}
		for i := range xs {
			w.Std += (xs[i][j] - w.Mean) * (xs[i][j] - w.Mean) / float64(n)
		}
		w.Std = math.Sqrt(w.Std)
		m.Features[k] = w
	}
	for i := range xs {
		z[i] = make([]float64, len(keep)+1)
		for k, j := range keep {
			if w := m.Features[k]; w.Std > 0 {
				z[i][k] = (xs[i][j] - w.Mean) / w.Std
			}
		}
		z[i][len(keep)] = 1
	}
	beta := newton(z, ys, o.L2*float64(n))
	for k := range keep {
		m.Features[k].Weight = beta[k]
	}
	m.Bias = beta[len(keep)]
	if err := m.link(); err != nil {
		panic(err) // names come from FeatureNames: cannot fail
	}
	return m
}

// screen returns the indices of the k features with the largest absolute
// correlation with y (ties by index), in index order.
func screen(xs [][]float64, y []float64, k int) []int {
	n := float64(len(xs))
	var my float64
	for _, v := range y {
		my += v / n
	}
	type fc struct {
		j int
		c float64
	}
	cs := make([]fc, nBase) // the structure features are RobustOptions' only
	for j := range cs {
		var mx float64
		for i := range xs {
			mx += xs[i][j] / n
		}
		var sxy, sxx, syy float64
		for i := range xs {
			dx, dy := xs[i][j]-mx, y[i]-my
			sxy += dx * dy
			sxx += dx * dx
			syy += dy * dy
		}
		cs[j] = fc{j, 0}
		if sxx > 0 && syy > 0 {
			cs[j].c = math.Abs(sxy / math.Sqrt(sxx*syy))
		}
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].c > cs[b].c })
	keep := make([]int, 0, k)
	for _, c := range cs[:min(k, len(cs))] {
		if c.c > 0 {
			keep = append(keep, c.j)
		}
	}
	sort.Ints(keep)
	return keep
}

// newton fits logistic regression weights (the last column of z is the
// bias, not penalised) by Newton's method with an L2 penalty lambda.
func newton(z [][]float64, y []float64, lambda float64) []float64 {
	d := len(z[0])
	beta := make([]float64, d)
	h := make([][]float64, d)
	for j := range h {
		h[j] = make([]float64, d)
	}
	g := make([]float64, d)
	for range 50 {
		for j := range h {
			clear(h[j])
		}
		clear(g)
		for i, x := range z {
			var s float64
			for j, v := range x {
				s += beta[j] * v
			}
			p := sigmoid(s)
			r, w := p-y[i], p*(1-p)
			for j, v := range x {
				g[j] += r * v
				for k := j; k < d; k++ {
					h[j][k] += w * v * x[k]
				}
			}
		}
		for j := range d {
			for k := range j {
				h[j][k] = h[k][j]
			}
		}
		for j := range d - 1 {
			g[j] += lambda * beta[j]
			h[j][j] += lambda
		}
		h[d-1][d-1] += 1e-9
		step := cholSolve(h, g)
		var mx float64
		for j := range beta {
			beta[j] -= step[j]
			mx = math.Max(mx, math.Abs(step[j]))
		}
		if mx < 1e-10 {
			break
		}
	}
	return beta
}

// cholSolve solves a x = b for a symmetric positive definite a.
func cholSolve(a [][]float64, b []float64) []float64 {
	n := len(a)
	l := make([][]float64, n)
	for i := range l {
		l[i] = make([]float64, n)
	}
	for i := range n {
		for j := 0; j <= i; j++ {
			s := a[i][j]
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				l[i][i] = math.Sqrt(math.Max(s, 1e-12))
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	y := make([]float64, n)
	for i := range n {
		s := b[i]
		for k := range i {
			s -= l[i][k] * y[k]
		}
		y[i] = s / l[i][i]
	}
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < n; k++ {
			s -= l[k][i] * x[k]
		}
		x[i] = s / l[i][i]
	}
	return x
}
