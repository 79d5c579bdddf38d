package difficulty

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// topicPrompts: the strong model gains on prompts about one topic (their
// words drawn from one vocabulary) and not on the other, with the same
// lengths; a linear model on dense features cannot tell them apart.
func topicPrompts(n int) []Example {
	hard := []string{"integral", "eigenvalue", "manifold", "lemma", "topology", "spectral"}
	easy := []string{"apple", "garden", "kitchen", "breakfast", "sunny", "bicycle"}
	var ex []Example
	for i := range n {
		words, e := easy, Example{Weak: 1, Strong: 1}
		if i%2 == 0 {
			words, e.Weak = hard, 0
		}
		e.Prompt = fmt.Sprintf("Question %d: %s and %s with %s.", i, words[i%6], words[(i/2+1)%6], words[(i/3+2)%6])
		ex = append(ex, e)
	}
	return ex
}

func TestKNNScores(t *testing.T) {
	ex := topicPrompts(200)
	k := FitKNN(ex[:150])
	ks := []int{1, 5, 20}
	for _, e := range ex[150:] {
		s := k.Scores(e.Prompt, ks)
		want := LabelGain(&e)
		if len(s) != len(ks) || math.Abs(s[1]-want) > 0.2 {
			t.Errorf("%q: kNN scores %v, want about %g for k 5", e.Prompt, s, want)
		}
	}
	// A prompt sharing no word with the training prompts scores the mean gain.
	if s := k.Scores("zzz qqq", ks); s[0] != k.mean || math.Abs(k.mean-0.75) > 0.01 {
		t.Errorf("no shared word: %v, want the mean gain %g (≈ 0.75)", s, k.mean)
	}
	// A stored prompt is its own nearest neighbour.
	if s := k.Scores(ex[0].Prompt, []int{1}); s[0] != LabelGain(&ex[0]) {
		t.Errorf("stored prompt: k 1 score %g, want its own gain %g", s[0], LabelGain(&ex[0]))
	}
}

func TestKNNTrain(t *testing.T) {
	ex := topicPrompts(300)
	train, test := ex[:240], ex[240:]
	r := TrainKNN(train)
	if !slices.Contains(KNNKs, r.K) || !r.Alone {
		t.Fatalf("TrainKNN: k %d alone %v, want one of %v, alone", r.K, r.Alone, KNNKs)
	}
	s := make([]float64, len(test))
	for i := range test {
		s[i] = r.Score(test[i].Prompt)
	}
	// Perfect is 0.75 here (weak right on half, strong on all).
	if a := Evaluate(test, s).APGR; a < 0.74 {
		t.Errorf("kNN alone: APGR %.3f, want ≥ 0.74 (perfect 0.75)", a)
	}
	o := RobustOptions{Iters: 30, Dense: []string{"log_chars"}}
	b := TrainKNNBlend(train, o)
	if b.Alone || b.Gamma <= 0 || !slices.Contains(KNNGammas, b.Gamma) || b.Lin == nil {
		t.Fatalf("TrainKNNBlend: gamma %g alone %v, want a positive gamma of %v (the model alone cannot rank these)", b.Gamma, b.Alone, KNNGammas)
	}
	for i := range test {
		s[i] = b.Score(test[i].Prompt)
	}
	if a := Evaluate(test, s).APGR; a < 0.74 {
		t.Errorf("kNN blend: APGR %.3f, want ≥ 0.74", a)
	}
	lin := make([]float64, len(test))
	for i := range test {
		lin[i] = b.Lin.Score(test[i].Prompt)
	}
	if a := Evaluate(test, lin).APGR; a > 0.65 {
		t.Errorf("the linear model alone: APGR %.3f, want it unable to rank these (≤ 0.65)", a)
	}
}

// BenchmarkKNNScore is what a kNN score would cost per prompt against
// GSM8K's 646 training prompts (MMLU's 7,024 cost about 11 times more).
func BenchmarkKNNScore(b *testing.B) {
	ex, err := LoadGSM8K()
	if err != nil {
		b.Fatal(err)
	}
	train, _ := Split(ex)
	k := FitKNN(train)
	p := "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
	ks := []int{20}
	b.ReportAllocs()
	for b.Loop() {
		k.Scores(p, ks)
	}
}
