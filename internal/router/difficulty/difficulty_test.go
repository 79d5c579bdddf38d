package difficulty

import (
	"bytes"
	"testing"
)

// TestEmbeddedWeightsReproduce retrains on the training half and checks the
// embedded weights are exactly what the trainer produces: the model never
// saw the held-out half.
func TestEmbeddedWeightsReproduce(t *testing.T) {
	all, err := LoadGSM8K()
	if err != nil {
		t.Fatal(err)
	}
	train, held := Split(all)
	if len(all) != 1319 || len(train) < 600 || len(held) < 600 {
		t.Fatalf("split %d / %d of %d", len(train), len(held), len(all))
	}
	m := Train(train, TrainOptions{LabelName: Default().Label})
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(b), bytes.TrimSpace(weightsJSON)) {
		t.Fatal("weights.json differs from a fresh training run: go run ./internal/router/difficulty/cmd/train > internal/router/difficulty/weights.json")
	}
}

func TestScoreRange(t *testing.T) {
	m := Default()
	for _, p := range []string{"", "hi", "A train travels 120.5 km in 2 1/2 hours at 30% more than its usual speed. How fast is it usually?"} {
		if s := m.Score(p); !(s > 0 && s < 1) {
			t.Errorf("Score(%q) = %v, want in (0,1)", p, s)
		}
	}
}

func FuzzScore(f *testing.F) {
	f.Add("Janet’s ducks lay 16 eggs per day. 3/4 of 1,000.5 is $7%?")
	f.Fuzz(func(t *testing.T, s string) {
		if v := Default().Score(s); !(v >= 0 && v <= 1) {
			t.Fatalf("Score = %v", v)
		}
	})
}
