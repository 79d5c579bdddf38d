package cli

import (
	"math"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/meter"
)

// The catalogue's fine-tuned entries answer "what does the API offer":
// ft:gpt-4o-2024-11-20 at $3.75 / $15 per million, and gpt-4o does not
// pick up ft:gpt-4o-mini-… ($0.30 / $1.20).
func TestFineTunedLookup(t *testing.T) {
	cat, err := meter.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	look := fineTunedLookup(cat)
	for _, tc := range []struct {
		model, name string
		in, out     float64
	}{{"gpt-4o", "ft:gpt-4o-2024-11-20", 3.75, 15}, {"gpt-4o-mini", "ft:gpt-4o-mini-2024-07-18", 0.30, 1.20}} {
		in, out, name, ok := look(tc.model)
		if !ok || name != tc.name || math.Abs(in-tc.in) > 1e-9 || math.Abs(out-tc.out) > 1e-9 {
			t.Errorf("%s: %v %v %q %v", tc.model, in, out, name, ok)
		}
	}
	if _, _, _, ok := look("claude-sonnet-4-5"); ok {
		t.Error("claude has no hosted fine-tuning entry")
	}
}

// advise with an eval whose model names match no candidate warns and
// names them.
func TestAdviseWarnsOnUnmatchedEvals(t *testing.T) {
	out, _, err := opRun(t, "advise", "--profile", "../../examples/profiles/startup.yaml", "--eval", "testdata/eval-results.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `Warning: 2 eval result(s) match no candidate and are not used: "mixtral-8x7b" (suite gsm8k), "gpt-4" (suite gsm8k)`) {
		t.Errorf("no warning:\n%s", out)
	}
}
