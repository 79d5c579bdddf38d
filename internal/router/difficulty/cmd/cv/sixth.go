package main

// The sixth attempt (docs/routing.md): a word space learned from unlabeled
// prompts (-exp lsa), and the reference solutions' properties as an upper
// bound of what predicting them could give (-exp solution). Both are
// experiments: nothing here is in a router file.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/dataset"
	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

// Fixed in docs/routing.md before any result was seen.
const (
	lsaDims    = 48
	lsaPower   = 4
	lsaMinDF   = 3
	lsaL2      = 1.0
	lsaOversam = 10
)

var lsaGammas = []float64{0, 0.5, 1, 2}

// readUnlabeled reads the "question" of every JSON line of path.
func readUnlabeled(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var q struct{ Question string }
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, q.Question)
	}
	return out, sc.Err()
}

// words are the distinct lower-cased ASCII letter runs of s.
func words(s string) []string {
	seen := map[string]bool{}
	var out []string
	for w := range strings.FieldsFuncSeq(strings.ToLower(s), func(r rune) bool { return r < 'a' || r > 'z' }) {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// wordSpace is a truncated SVD of the binary tf-idf matrix of a corpus.
type wordSpace struct {
	vocab map[string]int
	idf   []float64
	v     [][]float64 // vocabulary × dims: the right singular vectors
}

// row is the L2-normalised tf-idf row of s as (index, value) pairs.
func (w *wordSpace) row(s string) ([]int, []float64) {
	var idx []int
	var val []float64
	var ss float64
	for _, t := range words(s) {
		if j, ok := w.vocab[t]; ok {
			idx, val = append(idx, j), append(val, w.idf[j])
			ss += w.idf[j] * w.idf[j]
		}
	}
	for i := range val {
		val[i] /= math.Sqrt(ss)
	}
	return idx, val
}

// vec is the prompt's L2-normalised coordinates in the space.
func (w *wordSpace) vec(s string) []float64 {
	out := make([]float64, lsaDims)
	idx, val := w.row(s)
	for i, j := range idx {
		for d := range out {
			out[d] += val[i] * w.v[j][d]
		}
	}
	var ss float64
	for _, x := range out {
		ss += x * x
	}
	if ss > 0 {
		for d := range out {
			out[d] /= math.Sqrt(ss)
		}
	}
	return out
}

// fitWordSpace computes the top lsaDims right singular vectors of the
// corpus's tf-idf matrix by randomized subspace iteration.
func fitWordSpace(docs []string) *wordSpace {
	df := map[string]int{}
	for _, d := range docs {
		for _, t := range words(d) {
			df[t]++
		}
	}
	keys := make([]string, 0, len(df))
	for t, n := range df {
		if n >= lsaMinDF {
			keys = append(keys, t)
		}
	}
	sort.Strings(keys)
	w := &wordSpace{vocab: map[string]int{}, idf: make([]float64, len(keys))}
	for j, t := range keys {
		w.vocab[t] = j
		w.idf[j] = math.Log(float64(1+len(docs)) / float64(1+df[t]))
	}
	type sparse struct {
		idx []int
		val []float64
	}
	rows := make([]sparse, len(docs))
	for i, d := range docs {
		rows[i].idx, rows[i].val = w.row(d)
	}
	nv, l := len(keys), lsaDims+lsaOversam
	mat := func(r, c int) [][]float64 {
		m := make([][]float64, r)
		for i := range m {
			m[i] = make([]float64, c)
		}
		return m
	}
	xTimes := func(z [][]float64) [][]float64 { // X z: docs × l
		y := mat(len(rows), l)
		for i, r := range rows {
			for k, j := range r.idx {
				for c := range l {
					y[i][c] += r.val[k] * z[j][c]
				}
			}
		}
		return y
	}
	xtTimes := func(y [][]float64) [][]float64 { // Xᵀ y: vocabulary × l
		z := mat(nv, l)
		for i, r := range rows {
			for k, j := range r.idx {
				for c := range l {
					z[j][c] += r.val[k] * y[i][c]
				}
			}
		}
		return z
	}
	rng := rand.New(rand.NewPCG(17, 23))
	z := mat(nv, l)
	for j := range z {
		for c := range l {
			z[j][c] = rng.NormFloat64()
		}
	}
	orth(z)
	for range lsaPower {
		y := xTimes(z)
		orth(y)
		z = xtTimes(y)
		orth(z)
	}
	// B = X Z; the eigenvectors of BᵀB rotate Z onto the singular vectors.
	b := xTimes(z)
	g := mat(l, l)
	for _, r := range b {
		for p := range l {
			for q := range l {
				g[p][q] += r[p] * r[q]
			}
		}
	}
	vals, vecs := jacobi(g)
	order := make([]int, l)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	w.v = mat(nv, lsaDims)
	for j := range nv {
		for d := range lsaDims {
			e := order[d]
			for c := range l {
				w.v[j][d] += z[j][c] * vecs[c][e]
			}
		}
	}
	return w
}

// orth orthonormalises the columns of m (modified Gram-Schmidt, twice).
func orth(m [][]float64) {
	if len(m) == 0 {
		return
	}
	cols := len(m[0])
	for range 2 {
		for c := range cols {
			for p := range c {
				var dot float64
				for i := range m {
					dot += m[i][c] * m[i][p]
				}
				for i := range m {
					m[i][c] -= dot * m[i][p]
				}
			}
			var ss float64
			for i := range m {
				ss += m[i][c] * m[i][c]
			}
			if ss > 0 {
				for i := range m {
					m[i][c] /= math.Sqrt(ss)
				}
			}
		}
	}
}

// jacobi returns the eigenvalues and eigenvectors (columns) of a symmetric
// matrix (cyclic Jacobi rotations).
func jacobi(a [][]float64) ([]float64, [][]float64) {
	n := len(a)
	v := make([][]float64, n)
	for i := range v {
		v[i] = make([]float64, n)
		v[i][i] = 1
	}
	for range 100 {
		var off float64
		for p := range n {
			for q := p + 1; q < n; q++ {
				off += a[p][q] * a[p][q]
			}
		}
		if off < 1e-22 {
			break
		}
		for p := range n {
			for q := p + 1; q < n; q++ {
				if math.Abs(a[p][q]) < 1e-300 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range n {
					akp, akq := a[k][p], a[k][q]
					a[k][p], a[k][q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := range n {
					apk, aqk := a[p][k], a[q][k]
					a[p][k], a[q][k] = c*apk-s*aqk, s*apk+c*aqk
				}
				for k := range n {
					vkp, vkq := v[k][p], v[k][q]
					v[k][p], v[k][q] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	vals := make([]float64, n)
	for i := range n {
		vals[i] = a[i][i]
	}
	return vals, v
}

// logistic fits an L2-penalised logistic regression (intercept last,
// unpenalised) by Newton's method.
func logistic(x [][]float64, y []float64, l2 float64) []float64 {
	d := len(x[0]) + 1
	beta := make([]float64, d)
	for range 30 {
		h := make([][]float64, d)
		for j := range h {
			h[j] = make([]float64, d+1) // augmented with the gradient
		}
		for i, xi := range x {
			s := beta[d-1]
			for j, v := range xi {
				s += beta[j] * v
			}
			p := 1 / (1 + math.Exp(-s))
			r, wt := p-y[i], p*(1-p)
			for j := range d {
				vj := 1.0
				if j < d-1 {
					vj = xi[j]
				}
				h[j][d] += r * vj
				for k := range d {
					vk := 1.0
					if k < d-1 {
						vk = xi[k]
					}
					h[j][k] += wt * vj * vk
				}
			}
		}
		for j := range d - 1 {
			h[j][d] += l2 * beta[j]
			h[j][j] += l2
		}
		h[d-1][d-1] += 1e-9
		step := solve(h)
		var mx float64
		for j := range beta {
			beta[j] -= step[j]
			mx = math.Max(mx, math.Abs(step[j]))
		}
		if mx < 1e-8 {
			break
		}
	}
	return beta
}

// solve solves the augmented system m (n × n+1) by Gaussian elimination
// with partial pivoting.
func solve(m [][]float64) []float64 {
	n := len(m)
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			for k := c; k <= n; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := m[r][n]
		for k := r + 1; k < n; k++ {
			s -= m[r][k] * x[k]
		}
		x[r] = s / m[r][r]
	}
	return x
}

// contrastScorer fits the contrast learner (logit P(strong right) - logit
// P(weak right)) over standardised feature vectors feat(prompt).
func contrastScorer(ex []difficulty.Example, feat func(string) []float64) func(string) float64 {
	x := make([][]float64, len(ex))
	for i := range ex {
		x[i] = feat(ex[i].Prompt)
	}
	d := len(x[0])
	mu, sd := make([]float64, d), make([]float64, d)
	for _, r := range x {
		for j, v := range r {
			mu[j] += v / float64(len(x))
		}
	}
	for _, r := range x {
		for j, v := range r {
			sd[j] += (v - mu[j]) * (v - mu[j]) / float64(len(x))
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j])
		if sd[j] == 0 {
			sd[j] = 1
		}
	}
	z := make([][]float64, len(x))
	for i, r := range x {
		z[i] = make([]float64, d)
		for j, v := range r {
			z[i][j] = (v - mu[j]) / sd[j]
		}
	}
	ys, yw := make([]float64, len(ex)), make([]float64, len(ex))
	for i := range ex {
		ys[i], yw[i] = ex[i].Strong, ex[i].Weak
	}
	bs, bw := logistic(z, ys, lsaL2), logistic(z, yw, lsaL2)
	return func(p string) float64 {
		var s float64
		for j, v := range feat(p) {
			s += (bs[j] - bw[j]) * (v - mu[j]) / sd[j]
		}
		return s
	}
}

// standardised returns f shifted and scaled to mean 0, s.d. 1 on ex.
func standardised(f func(string) float64, ex []difficulty.Example) func(string) float64 {
	var m, ss float64
	for i := range ex {
		m += f(ex[i].Prompt) / float64(len(ex))
	}
	for i := range ex {
		d := f(ex[i].Prompt) - m
		ss += d * d / float64(len(ex))
	}
	sd := math.Sqrt(ss)
	if sd == 0 {
		sd = 1
	}
	return func(p string) float64 { return (f(p) - m) / sd }
}

// tuneThird is route-train's tuning third (TrainAndBlend's rule).
func tuneThird(p string) bool {
	h := fnv.New32a()
	h.Write([]byte(p))
	return h.Sum32()>>1%3 == 0
}

// lsaFit is the candidate: route-train's model plus gamma times the word
// space contrast model, gamma picked on route-train's tuning third.
func lsaFit(unlabeled []string, o difficulty.RobustOptions) func([]difficulty.Example) func(string) float64 {
	return func(tr []difficulty.Example) func(string) float64 {
		docs := append([]string(nil), unlabeled...)
		for i := range tr {
			docs = append(docs, tr[i].Prompt)
		}
		ws := fitWordSpace(docs)
		feat := func(p string) []float64 { return append(ws.vec(p), math.Log(float64(len(p)+1))) }
		if verbose {
			fmt.Printf("  lsa on %d: vocabulary %d\n", len(tr), len(ws.vocab))
		}
		return blendWith(tr, feat, o)
	}
}

// blendWith is route-train's model plus gamma times a contrast model over
// feat, gamma picked on route-train's tuning third, both refitted on all.
func blendWith(tr []difficulty.Example, feat func(string) []float64, o difficulty.RobustOptions) func(string) float64 {
	var fit, tune []difficulty.Example
	for _, e := range tr {
		if tuneThird(e.Prompt) {
			tune = append(tune, e)
		} else {
			fit = append(fit, e)
		}
	}
	combine := func(ex []difficulty.Example, gammas []float64, eval []difficulty.Example) (func(string) float64, float64) {
		rt := standardised(difficulty.TrainAndBlend(ex, o).Model.Score, ex)
		ls := standardised(contrastScorer(ex, feat), ex)
		best, bestG := -1.0, 0.0
		for _, g := range gammas {
			if eval == nil {
				bestG = g
				break
			}
			s := make([]float64, len(eval))
			for i := range eval {
				s[i] = rt(eval[i].Prompt) + g*ls(eval[i].Prompt)
			}
			if v := difficulty.Evaluate(eval, s).APGR; v > best+1e-9 {
				best, bestG = v, g
			}
		}
		return func(p string) float64 { return rt(p) + bestG*ls(p) }, bestG
	}
	_, g := combine(fit, lsaGammas, tune)
	if verbose {
		fmt.Printf("  gamma %g\n", g)
	}
	f, _ := combine(tr, []float64{g}, nil)
	return f
}

// solutionFeatures are properties of GSM8K's reference solutions, by
// question: an upper bound of what a model predicting them could give.
var solutionNames = []string{"steps", "answer_log", "answer_fraction", "unused_prompt_numbers", "implicit_constants", "divisions", "multiplications", "subtractions", "largest_intermediate_log", "fractional_intermediates", "solution_length"}

var (
	numRe  = regexp.MustCompile(`\d[\d,]*(\.\d+)?`)
	calcRe = regexp.MustCompile(`<<([^=>]*)=([^>]*)>>`)
)

func numbers(s string) []float64 {
	var out []float64
	for _, m := range numRe.FindAllString(s, -1) {
		if v, err := strconv.ParseFloat(strings.ReplaceAll(m, ",", ""), 64); err == nil {
			out = append(out, v)
		}
	}
	return out
}

func solutionFeatures() (map[string][]float64, error) {
	out := map[string][]float64{}
	for line := range strings.SplitSeq(string(dataset.GSM8KTest()), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var q struct{ Question, Answer string }
		if err := json.Unmarshal([]byte(line), &q); err != nil {
			return nil, err
		}
		inPrompt := map[float64]bool{}
		pn := numbers(q.Question)
		for _, v := range pn {
			inPrompt[v] = true
		}
		var ans float64
		if i := strings.Index(q.Answer, "####"); i >= 0 {
			ans, _ = strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(q.Answer[i+4:]), ",", ""), 64)
		}
		calcs := calcRe.FindAllStringSubmatch(q.Answer, -1)
		used, results := map[float64]bool{}, map[float64]bool{}
		var implicit, divs, muls, subs, frac, largest float64
		for _, c := range calcs {
			divs += float64(strings.Count(c[1], "/"))
			muls += float64(strings.Count(c[1], "*"))
			subs += float64(strings.Count(c[1], "-"))
			for _, v := range numbers(c[1]) {
				used[v] = true
				if !inPrompt[v] && !results[v] {
					implicit++
				}
			}
			if r, err := strconv.ParseFloat(strings.TrimSpace(c[2]), 64); err == nil {
				results[r] = true
				largest = math.Max(largest, math.Abs(r))
				if r != math.Trunc(r) {
					frac++
				}
			}
		}
		var unused float64
		for _, v := range pn {
			if !used[v] {
				unused++
			}
		}
		isFrac := 0.0
		if ans != math.Trunc(ans) {
			isFrac = 1
		}
		out[strings.TrimSpace(q.Question)] = []float64{float64(len(calcs)), math.Log10(1 + math.Abs(ans)), isFrac, unused, implicit, divs, muls, subs, math.Log10(1 + largest), frac, float64(len(q.Answer))}
	}
	return out, nil
}

// solutionReport prints each solution property's APGR on the training half
// (ranking up and down, ties broken by length) and returns the scorer of
// the contrast model over all of them with the log length, for CV.
func solutionReport(train []difficulty.Example) (func([]difficulty.Example) func(string) float64, error) {
	sol, err := solutionFeatures()
	if err != nil {
		return nil, err
	}
	for j, name := range solutionNames {
		up, down := make([]float64, len(train)), make([]float64, len(train))
		for i := range train {
			v := sol[strings.TrimSpace(train[i].Prompt)][j]
			tie := 1e-9 * float64(len(train[i].Prompt))
			up[i], down[i] = v+tie, -v+tie
		}
		fmt.Printf("  %-26s up %.3f  down %.3f\n", name, difficulty.Evaluate(train, up).APGR, difficulty.Evaluate(train, down).APGR)
	}
	feat := func(p string) []float64 {
		return append(append([]float64(nil), sol[strings.TrimSpace(p)]...), math.Log(float64(len(p)+1)))
	}
	return func(tr []difficulty.Example) func(string) float64 { return contrastScorer(tr, feat) }, nil
}

// randomSplits prints difficulty.RandomSplits of fit: each split's APGR,
// then the mean and s.d. next to the length rule's.
func randomSplits(all []difficulty.Example, fit func([]difficulty.Example) func(string) float64, n int) {
	res := difficulty.RandomSplits(all, fit, n)
	d := make([]float64, len(res.APGR))
	for i := range d {
		d[i] = res.APGR[i] - res.Length[i]
		fmt.Printf("  split %d: APGR %.3f, length rule %.3f\n", i, res.APGR[i], res.Length[i])
	}
	m, sd := difficulty.MeanSD(res.APGR)
	lm, lsd := difficulty.MeanSD(res.Length)
	dm, dsd := difficulty.MeanSD(d)
	fmt.Printf("%d random half-splits of %d records: APGR %.3f ± %.3f (s.d.), length rule %.3f ± %.3f, difference %+.3f ± %.3f\n", len(res.APGR), len(all), m, sd, lm, lsd, dm, dsd)
}

// bagFit is route-train's whole procedure (tuning third included) on
// bagBags bootstrap resamples of the training records, the standardised
// scores averaged: the learner and blend weight route-train picks on a
// tuning third of a few hundred records vary from sample to sample, and an
// average over samples varies less. Thought of after the word space's CV
// was seen (docs/routing.md).
const bagBags = 8

func bagFit(o difficulty.RobustOptions) func([]difficulty.Example) func(string) float64 {
	return func(tr []difficulty.Example) func(string) float64 {
		rng := rand.New(rand.NewPCG(uint64(len(tr)), 31))
		var parts []func(string) float64
		for range bagBags {
			s := make([]difficulty.Example, len(tr))
			for i := range s {
				s[i] = tr[rng.IntN(len(tr))]
			}
			parts = append(parts, standardised(difficulty.TrainAndBlend(s, o).Model.Score, tr))
		}
		return func(p string) float64 {
			var v float64
			for _, f := range parts {
				v += f(p)
			}
			return v / float64(len(parts))
		}
	}
}
