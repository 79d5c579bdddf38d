package difficulty

import (
	"fmt"
	"strings"
	"testing"
)

// nonMonotone are prompts whose gain depends on how many numbers they hold
// in a way no single weight can express: the strong model gains on two or
// three numbers only.
func nonMonotone() []Example {
	var ex []Example
	for i := range 600 {
		k := i % 6 // 0 to 5 numbers
		var b strings.Builder
		fmt.Fprintf(&b, "Problem about apples and pears, case %s.", strings.Repeat("x", i%7))
		for j := range k {
			fmt.Fprintf(&b, " Add %d more.", j+2)
		}
		e := Example{Prompt: b.String(), Weak: 1, Strong: 1}
		if k == 2 || k == 3 {
			e.Weak = 0
		}
		ex = append(ex, e)
	}
	return ex
}

func apgrOf(m *Model, ex []Example) float64 {
	s := make([]float64, len(ex))
	for i := range ex {
		s[i] = m.Score(ex[i].Prompt)
	}
	return Evaluate(ex, s).APGR
}

// Boosted stumps learn the bend a linear model cannot, survive Marshal and
// Parse, and scoring with them still allocates nothing.
func TestBoostStumps(t *testing.T) {
	ex := nonMonotone()
	o := RobustOptions{Dense: []string{"numbers", "log_chars"}}
	lin := TrainRobust(ex, o)
	o.Boost = 30
	bst := TrainRobust(ex, o)
	if len(bst.Stumps) == 0 || len(lin.Stumps) != 0 {
		t.Fatalf("%d stumps with Boost, %d without", len(bst.Stumps), len(lin.Stumps))
	}
	al, ab := apgrOf(lin, ex), apgrOf(bst, ex)
	t.Logf("APGR linear %.3f, boosted %.3f", al, ab)
	// The oracle puts the 200 gaining prompts first: APGR 1 - 1/3 / 2 ≈ 0.83.
	if ab < 0.8 || ab < al+0.1 {
		t.Errorf("APGR with stumps %.3f, without %.3f: want ≥ 0.8 and 0.1 better", ab, al)
	}
	b, err := bst.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"stumps"`) {
		t.Fatal("marshalled model has no stumps")
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ex[:12] {
		if g, w := back.Score(e.Prompt), bst.Score(e.Prompt); g-w > 1e-4 || w-g > 1e-4 {
			t.Errorf("parsed model scores %.40q %v, trained %v", e.Prompt, g, w)
		}
	}
	if n := testing.AllocsPerRun(100, func() { back.Score(ex[3].Prompt) }); n != 0 {
		t.Errorf("Score with stumps allocates %v times, want 0", n)
	}
	// Blend keeps the stumps' share of the logit: at a large alpha the
	// blend ranks as the boosted model does.
	if a := apgrOf(Blend(bst, ex, 30), ex); a < ab-0.02 {
		t.Errorf("blend at alpha 30: APGR %.3f, boosted model %.3f", a, ab)
	}
	if _, err := Parse([]byte(`{"features":[{"name":"log_chars","std":1}],"stumps":[{"name":"nope"}]}`)); err == nil {
		t.Error("stump on an unknown feature accepted")
	}
}

// Contrast with stumps keeps the weak model's stumps, negated.
func TestContrastBoost(t *testing.T) {
	ex := nonMonotone()
	o := RobustOptions{Dense: []string{"numbers", "log_chars"}, Boost: 5}
	s, w := o, o
	s.Label = func(e *Example) float64 { return e.Strong }
	w.Label = func(e *Example) float64 { return e.Weak }
	o.Contrast = true
	c, ms, mw := TrainRobust(ex, o), TrainRobust(ex, s), TrainRobust(ex, w)
	if len(c.Stumps) != len(ms.Stumps)+len(mw.Stumps) {
		t.Fatalf("%d stumps, want %d + %d", len(c.Stumps), len(ms.Stumps), len(mw.Stumps))
	}
	last := c.Stumps[len(c.Stumps)-1]
	want := mw.Stumps[len(mw.Stumps)-1]
	if last.Name != want.Name || last.Left != -want.Left || last.Right != -want.Right {
		t.Errorf("last stump %+v, want the weak model's %+v negated", last, want)
	}
}

// BenchmarkScoreBoost scores with a contrast model of 2 × 50 stumps, as
// route-train --contrast --boost 50 writes.
func BenchmarkScoreBoost(b *testing.B) {
	ex, err := LoadGSM8K()
	if err != nil {
		b.Fatal(err)
	}
	ex, _ = Split(ex)
	m := Blend(TrainRobust(ex, RobustOptions{Contrast: true, Boost: 50, Buckets: 1024, Iters: 50}), ex, 1)
	if len(m.Stumps) != 100 {
		b.Fatalf("%d stumps, want 100", len(m.Stumps))
	}
	p := "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
	b.ReportAllocs()
	for b.Loop() {
		m.Score(p)
	}
}

// With Choose, TrainAndBlend tries every learner on the tuning third and
// keeps one with stumps where only stumps can fit.
func TestChooseLearner(t *testing.T) {
	ex := nonMonotone()
	o := RobustOptions{Dense: []string{"numbers", "log_chars"}, Choose: true}
	res := TrainAndBlend(ex, o)
	if res.Learner.Boost == 0 || len(res.Model.Stumps) == 0 {
		t.Errorf("chose %v (%d stumps), want a learner with stumps", res.Learner, len(res.Model.Stumps))
	}
	if len(res.TuneAPGR) != len(Learners)*len(Alphas) {
		t.Errorf("%d tuning results, want %d", len(res.TuneAPGR), len(Learners)*len(Alphas))
	}
	if _, ok := res.TuneAPGR["contrast+boost50 0.3/0"]; !ok {
		t.Errorf("no tuning result for contrast+boost50 at 0.3/0: %v", res.TuneAPGR)
	}
	o.Choose = false
	if plain := TrainAndBlend(ex, o); plain.Learner != (Learner{}) || len(plain.Model.Stumps) != 0 {
		t.Errorf("without Choose: learner %v, %d stumps", plain.Learner, len(plain.Model.Stumps))
	}
}
