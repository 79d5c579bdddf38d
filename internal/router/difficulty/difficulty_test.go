package difficulty

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestEmbeddedWeightsReproduce retrains on the training half and checks the
// embedded weights are exactly what the trainer produces: the model never
// saw the held-out half.
//
// It is one single-goroutine training run with no concurrency for the race
// detector to check, and the detector makes it about nine times slower (27
// against 3 s); .ci/run runs it in an invocation of its own without -race.
func TestEmbeddedWeightsReproduce(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on 7,700 recordings")
	}
	if raceEnabled {
		t.Skip("single-goroutine training, 9x slower under -race: .ci/run runs it without -race")
	}
	m, alpha, table, err := TrainDefault(DefaultGrid, RobustOptions{Buckets: DefaultBuckets, L2: DefaultRobustL2, LabelName: Default().Label})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(b), bytes.TrimSpace(weightsJSON)) {
		t.Fatal("weights.json differs from a fresh training run: go run ./internal/router/difficulty/cmd/train > internal/router/difficulty/weights.json")
	}
	// The blend weight is the largest at which no left-out domain scores
	// below the length rule.
	if alpha != 0.02 || !strings.Contains(table, "| gsm8k | 0.601 |") {
		t.Errorf("alpha %v\n%s", alpha, table)
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

// TestExtract checks the features of hand-made prompts.
func TestExtract(t *testing.T) {
	pos := map[string]int{}
	for i, n := range FeatureNames {
		pos[n] = i
	}
	if len(pos) != len(FeatureNames) || len(FeatureNames) != nFeatures {
		t.Fatalf("%d names, %d distinct, nFeatures %d", len(FeatureNames), len(pos), nFeatures)
	}
	tests := []struct {
		name, text string
		want       map[string]float64
	}{
		{"empty", "", map[string]float64{"sentences": 1, "numbers": 0, "log_words": 0, "words_per_number": 0}},
		{"numbers", "Tom paid $1,250.50 for 3/4 of 12 apples and 25% more. How much?", map[string]float64{
			"numbers": 4, "distinct_numbers": 4, "decimals": 1, "fractions": 1, "big_numbers": 1,
			"small_numbers": 1, "percents": 1, "money": 1, "sentences": 2, "questions": 1,
			"max_magnitude": math.Log10(1 + 1250.5), "w:more": 1, "w:how": 1, "w:much": 1, "b:how much": 1,
			"w:for": 1, "w:of": 1, "w:and": 1, "names": 0,
		}},
		{"names and pairs", "Ann has twice as many pens as Bob. Bob has 4 more than Cid. How many pens in total?", map[string]float64{
			// "Bob" and "Cid"; "Ann" starts the prompt.
			"names": 2, "w:twice": 1, "b:as many": 1, "b:how many": 1, "b:more than": 1, "b:in total": 1,
			"w:has": 2, "numbers": 1, "sentences": 3, "log_distinct_words": math.Log1p(13),
		}},
		{"punctuation breaks pairs", "how, many. more; than", map[string]float64{"b:how many": 0, "b:more than": 0, "w:how": 1, "w:than": 1}},
		{"curly apostrophe", "Janet’s ducks lay 16 eggs per day.", map[string]float64{"w:per": 1, "b:per hour": 0, "numbers": 1, "names": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := make([]float64, nFeatures)
			extract(tt.text, f)
			for n, want := range tt.want {
				if got := f[pos[n]]; math.Abs(got-want) > 1e-9 {
					t.Errorf("%s = %v, want %v", n, got, want)
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	if _, err := Parse([]byte(`{"features":[{"name":"no such feature","std":1,"weight":1}]}`)); err == nil || !strings.Contains(err.Error(), "unknown feature") {
		t.Errorf("unknown feature: err %v", err)
	}
	m, err := Parse([]byte(`{"features":[{"name":"numbers","mean":1,"std":2,"weight":3}],"bias":-1}`))
	if err != nil {
		t.Fatal(err)
	}
	// 5 numbers: z = -1 + 3*(5-1)/2 = 5.
	if got, want := m.Score("1 2 3 4 5"), 1/(1+math.Exp(-5)); math.Abs(got-want) > 1e-12 {
		t.Errorf("Score = %v, want %v", got, want)
	}
}

func TestScoreAllocs(t *testing.T) {
	m := Default()
	p := strings.Repeat("Janet’s ducks lay 16 eggs per day, twice as many as 3.5 hens. ", 20)
	m.Score(p)
	if n := testing.AllocsPerRun(100, func() { m.Score(p) }); n != 0 {
		t.Errorf("Score allocates %v times, want 0", n)
	}
}

// TestCrossValidateDeterministic: the same options give the same estimate,
// and it beats random on the training half.
func TestCrossValidateDeterministic(t *testing.T) {
	all, err := LoadGSM8K()
	if err != nil {
		t.Fatal(err)
	}
	train, _ := Split(all)
	a := CrossValidate(train, TrainOptions{}, 5, 1)
	b := CrossValidate(train, TrainOptions{}, 5, 1)
	if a.APGR != b.APGR || a.SE != b.SE || !slices.Equal(a.Values, b.Values) {
		t.Fatalf("two runs differ: %+v vs %+v", a, b)
	}
	if a.Folds != 5 || len(a.Values) != 5 || a.APGR < 0.55 || a.SE <= 0 {
		t.Errorf("CV %+v, want 5 folds, APGR above 0.55", a)
	}
}

func FuzzScore(f *testing.F) {
	f.Add("Janet’s ducks lay 16 eggs per day. 3/4 of 1,000.5 is $7%?")
	f.Add("1/0 0.0.0 99999999999999999999999999999999999 1,2,3")
	f.Add(strings.Repeat("9", 400) + " and 1." + strings.Repeat("9", 400))
	f.Fuzz(func(t *testing.T, s string) {
		if v := Default().Score(s); !(v >= 0 && v <= 1) {
			t.Fatalf("Score = %v", v)
		}
	})
}

func BenchmarkScore(b *testing.B) {
	m := Default()
	p := "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
	b.ReportAllocs()
	for b.Loop() {
		m.Score(p)
	}
}
