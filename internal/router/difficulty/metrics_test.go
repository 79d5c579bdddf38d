package difficulty

import (
	"math"
	"testing"
)

// APGRBins follows RouteLLM's evaluation: with 11 prompts scored 0..10 the
// ten-bin thresholds are 0, 1, ..., 10 and the last sends nothing to the
// strong model, so the point at a strong share of 1/11 is skipped and the
// curve from 0 to 2/11 is a chord. Evaluate keeps every distinct score.
func TestAPGRBins(t *testing.T) {
	ex := make([]Example, 11)
	scores := make([]float64, 11)
	for i := range ex {
		ex[i] = Example{Weak: 1, Strong: 1}
		scores[i] = float64(i)
	}
	ex[10].Weak = 0 // the highest-scored prompt is the only one the strong model gains
	// By hand: weak accuracy 10/11, gap 1/11. Every score: the curve
	// reaches 1 at share 1/11, area above the weak accuracy
	// (1/11)(10/11) + (1/11)(1/11)/2 = 10.5/121, over the gap 10.5/11.
	// Ten bins: it reaches 1 at 2/11, (1/11)(9/11) + (2/11)(1/11)/2 = 10/121: 10/11.
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"Evaluate", Evaluate(ex, scores).APGR, 10.5 / 11},
		{"APGRBins", APGRBins(ex, scores, 10), 10.0 / 11},
		{"APGRBins, equal scores", APGRBins(ex, make([]float64, 11), 10), 0.5},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s = %.6f, want %.6f", c.name, c.got, c.want)
		}
	}
	if v := APGRBins([]Example{{Weak: 1, Strong: 1}}, []float64{0}, 10); !math.IsNaN(v) {
		t.Errorf("APGRBins without a quality gap = %v, want NaN", v)
	}
}
