package difficulty

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// Contrast is the strong-quality model minus the weak-quality model, weight
// by weight.
func TestContrastIsStrongMinusWeak(t *testing.T) {
	ex, err := LoadGSM8K()
	if err != nil {
		t.Fatal(err)
	}
	ex = ex[:150]
	o := RobustOptions{Buckets: 32, Iters: 40}
	s, w := o, o
	s.Label = func(e *Example) float64 { return e.Strong }
	w.Label = func(e *Example) float64 { return e.Weak }
	o.Contrast = true
	o.Label = LabelGain // ignored
	c, ms, mw := TrainRobust(ex, o), TrainRobust(ex, s), TrainRobust(ex, w)
	if d := c.Bias - (ms.Bias - mw.Bias); math.Abs(d) > 1e-12 {
		t.Errorf("bias off by %g", d)
	}
	for i := range c.Features {
		if d := c.Features[i].Weight - (ms.Features[i].Weight - mw.Features[i].Weight); math.Abs(d) > 1e-12 {
			t.Errorf("%s off by %g", c.Features[i].Name, d)
		}
	}
	for i := range c.Words {
		if d := c.Words[i] - (ms.Words[i] - mw.Words[i]); math.Abs(d) > 1e-12 {
			t.Errorf("word %d off by %g", i, d)
		}
	}
}

// Where the gain label is mostly "no difference" (both right), the
// contrast still learns who gains: the prompts the weak model fails and the
// strong one does not.
func TestContrastRanksGain(t *testing.T) {
	var ex []Example
	for i := range 300 {
		e := Example{Prompt: fmt.Sprintf("Question %d about apples and pears?", i), Weak: 1, Strong: 1}
		if i%5 == 0 { // hard: the weak model fails, the strong one mostly not
			e.Prompt = fmt.Sprintf("Question %d about apples twice and pears?", i)
			e.Weak, e.Strong = 0, b2f(i%15 != 0)
		}
		ex = append(ex, e)
	}
	m := TrainRobust(ex, RobustOptions{Contrast: true})
	hard, easy := m.Score("Question 7 about apples twice and pears?"), m.Score("Question 7 about apples and pears?")
	if hard <= easy {
		t.Errorf("contrast scores the hard prompt %g, the easy one %g", hard, easy)
	}
}

// WithinDomain ignores what only tells the domains apart. In domain "long"
// every prompt is long and gains; in domain "short" none is and none does;
// within each, "twice" marks the prompts that gain. A plain model credits
// length; a within-domain model credits "twice".
func TestWithinDomain(t *testing.T) {
	var ex []Example
	for i := range 400 {
		long := i%2 == 0
		cue := i%4 < 2
		p := fmt.Sprintf("Item %d has apples.", i)
		if cue {
			p += " It has twice the pears."
		} else {
			p += " It has more of the pears."
		}
		e := Example{Prompt: p, Domain: "short"}
		if long {
			e.Prompt, e.Domain = strings.Repeat("Some filler words here. ", 12)+p, "long/x"
		}
		// Gain: strong right; weak wrong on cue prompts, and on most of the
		// long domain's prompts.
		e.Strong, e.Weak = 1, 1
		if cue || (long && i%8 != 0) {
			e.Weak = 0
		}
		ex = append(ex, e)
	}
	weight := func(m *Model, name string) float64 {
		for _, w := range m.Features {
			if w.Name == name {
				return w.Weight
			}
		}
		t.Fatalf("no feature %s", name)
		return 0
	}
	plain := TrainRobust(ex, RobustOptions{})
	within := TrainRobust(ex, RobustOptions{WithinDomain: true})
	if lp, lw := math.Abs(weight(plain, "log_chars")), math.Abs(weight(within, "log_chars")); lw >= lp/3 {
		t.Errorf("|log_chars weight| %g within domains, %g plain: want the within-domain one far smaller", lw, lp)
	}
	if tw, lw := weight(within, "w:twice"), math.Abs(weight(within, "log_chars")); tw <= 3*lw {
		t.Errorf("within-domain weight of \"twice\" %g, |log_chars| %g: want the cue to dominate", tw, lw)
	}
	// Within one domain, the within-domain model ranks by the cue.
	if a, b := within.Score("Item 9 has apples. It has twice the pears."), within.Score("Item 9 has apples. It has more of the pears."); a <= b {
		t.Errorf("within-domain model: cue %g <= no cue %g", a, b)
	}
}
