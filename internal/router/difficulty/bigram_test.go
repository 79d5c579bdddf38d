package difficulty

import (
	"fmt"
	"math"
	"testing"
)

func TestWordBucketsBigrams(t *testing.T) {
	count := func(text string, bigrams bool) (k int, v float64) {
		wordBuckets(text, 4096, bigrams, func(_ int, x float64) { k++; v = x })
		return k, v
	}
	// Three distinct words; with bigrams, two pairs more (no collisions in
	// 4,096 buckets for these).
	if k, v := count("half the rest", false); k != 3 || math.Abs(v-1/math.Sqrt(3)) > 1e-12 {
		t.Errorf("unigrams: %d buckets of %g, want 3 of 1/sqrt(3)", k, v)
	}
	if k, v := count("half the rest", true); k != 5 || math.Abs(v-1/math.Sqrt(5)) > 1e-12 {
		t.Errorf("bigrams: %d buckets of %g, want 5 of 1/sqrt(5)", k, v)
	}
	// Word order matters only with bigrams.
	a, b := map[int]bool{}, map[int]bool{}
	wordBuckets("the rest of", 4096, true, func(i int, _ float64) { a[i] = true })
	wordBuckets("of the rest", 4096, true, func(i int, _ float64) { b[i] = true })
	if fmt.Sprint(a) == fmt.Sprint(b) {
		t.Errorf("bigram buckets ignore word order: %v", a)
	}
}

func TestBigramModelRoundTrip(t *testing.T) {
	m := &Model{Words: make([]float64, 64), Bigrams: true, Label: "x"}
	for i := range m.Words {
		m.Words[i] = float64(i%7) / 10
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Bigrams {
		t.Fatal("bigrams lost in Marshal/Parse")
	}
	const prompt = "Tom has half the rest of the apples"
	uni := *p
	uni.Bigrams = false
	if p.Score(prompt) == uni.Score(prompt) {
		t.Errorf("bigrams do not change the score")
	}
}

func TestBootstrapSD(t *testing.T) {
	mk := func(n int) ([]Example, []float64) {
		ex := make([]Example, n)
		s := make([]float64, n)
		for i := range ex {
			h := fnv32(fmt.Sprint(i))
			ex[i] = Example{Weak: float64(h & 1), Strong: float64(h>>1&1 | h>>2&1)}
			s[i] = float64(h>>3%100) + ex[i].Strong - ex[i].Weak
		}
		return ex, s
	}
	small, large := 0.0, 0.0
	ex, s := mk(100)
	small = BootstrapSD(ex, s, 300)
	ex, s = mk(1600)
	large = BootstrapSD(ex, s, 300)
	if small <= 0 || large <= 0 || large > small/2 {
		t.Errorf("bootstrap s.d. %g on 100, %g on 1,600: want both > 0 and about 4x smaller on 16x the data", small, large)
	}
	if v := BootstrapSD(ex[:1], s[:1], 1); v != 0 {
		t.Errorf("1 rep: %g, want 0", v)
	}
}

func TestTrainRobustAverage(t *testing.T) {
	ex, err := LoadGSM8K()
	if err != nil {
		t.Fatal(err)
	}
	ex = ex[:120]
	o := RobustOptions{Buckets: 32, Bigrams: true, Iters: 40, L2Words: 0.01}
	one := TrainRobust(ex, o)
	o.Average = []float64{0.01, 0.01}
	same := TrainRobust(ex, o)
	if math.Abs(one.Words[3]-same.Words[3]) > 1e-12 || math.Abs(one.Bias-same.Bias) > 1e-12 {
		t.Errorf("average of two identical models differs from the model: %g vs %g", one.Words[3], same.Words[3])
	}
	o.Average = []float64{0.001, 0.1}
	lo, hi := o, o
	lo.Average, lo.L2Words = nil, 0.001
	hi.Average, hi.L2Words = nil, 0.1
	a, l, h := TrainRobust(ex, o), TrainRobust(ex, lo), TrainRobust(ex, hi)
	if want := (l.Words[5] + h.Words[5]) / 2; math.Abs(a.Words[5]-want) > 1e-12 {
		t.Errorf("averaged word weight %g, want %g", a.Words[5], want)
	}
}
