package difficulty

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func bucketsOf(text string, n int, bigrams, chars bool) (bs []int, v float64) {
	hashedBuckets(text, n, bigrams, chars, func(b int, x float64) { bs = append(bs, b); v = x })
	return bs, v
}

func TestCharNgramBuckets(t *testing.T) {
	// Without char n-grams, hashedBuckets is wordBuckets call for call, so
	// router files written before score exactly as before.
	for _, text := range []string{"", "half the rest of 12 apples", "Tom's half; THE REST?"} {
		for _, bigrams := range []bool{false, true} {
			var want []int
			wordBuckets(text, 1024, bigrams, func(b int, _ float64) { want = append(want, b) })
			if got, _ := bucketsOf(text, 1024, bigrams, false); !slices.Equal(got, want) {
				t.Errorf("%q bigrams %v: %v, wordBuckets gives %v", text, bigrams, got, want)
			}
		}
	}
	// "<half>": four 3-grams, three 4-grams, two 5-grams, and the word: 10
	// buckets (no collision in 4,096 for these).
	if bs, v := bucketsOf("half", 4096, false, true); len(bs) != 10 || math.Abs(v-1/math.Sqrt(10)) > 1e-12 {
		t.Errorf("half: %d buckets of %g, want 10 of 1/sqrt(10)", len(bs), v)
	}
	// A one-letter word is its own 3-gram "<a>".
	if bs, _ := bucketsOf("a", 4096, false, true); len(bs) != 2 {
		t.Errorf("a: %d buckets, want 2 (word and <a>)", len(bs))
	}
	// Case does not matter; spelling shared between words does.
	a, _ := bucketsOf("Halves", 4096, false, true)
	b, _ := bucketsOf("halves", 4096, false, true)
	if !slices.Equal(a, b) {
		t.Errorf("case changes the buckets: %v vs %v", a, b)
	}
	shared := func(x, y string, chars bool) int {
		p, _ := bucketsOf(x, 4096, false, chars)
		q, _ := bucketsOf(y, 4096, false, chars)
		k := 0
		for _, b := range p {
			if slices.Contains(q, b) {
				k++
			}
		}
		return k
	}
	if k := shared("half", "halves", false); k != 0 {
		t.Errorf("half and halves share %d word buckets, want 0", k)
	}
	if k := shared("half", "halves", true); k < 3 { // <ha, hal, <hal
		t.Errorf("half and halves share %d buckets with char n-grams, want at least 3", k)
	}
	// Buckets come in order and stay below n.
	if bs, _ := bucketsOf("the quick brown fox jumps over the lazy dog", 100, true, true); !slices.IsSorted(bs) || bs[len(bs)-1] >= 100 {
		t.Errorf("buckets %v: want ascending, below 100", bs)
	}
}

// refBuckets is the first, plain version of hashedBuckets with char
// n-grams (the one the December 2026 cross-validation ran): the faster
// code must give the same buckets.
func refBuckets(text string, n int, bigrams bool) []int {
	var seen bitset
	add := func(h uint32) { seen.add(h % uint32(n)) }
	prev := uint32(0)
	for i := 0; i < len(text); {
		if !isLetter(text[i]) {
			i++
			continue
		}
		start := i
		h := uint32(2166136261)
		for ; i < len(text) && isLetter(text[i]); i++ {
			h ^= uint32(text[i] | 0x20)
			h *= 16777619
		}
		add(h)
		if bigrams && prev != 0 {
			add((prev*16777619 ^ h) * 2654435761)
		}
		prev = h
		word := text[start:i]
		l := len(word) + 2
		at := func(j int) byte {
			switch j {
			case 0:
				return '<'
			case l - 1:
				return '>'
			}
			return word[j-1] | 0x20
		}
		for nn := 3; nn <= 5 && nn <= l; nn++ {
			for p := 0; p+nn <= l; p++ {
				h := uint32(2166136261) ^ uint32(nn)*0x9e3779b9
				for j := p; j < p+nn; j++ {
					h ^= uint32(at(j))
					h *= 16777619
				}
				add(h * 0x85ebca6b)
			}
		}
	}
	var out []int
	for b := range n {
		if seen[b/64]&(1<<(b%64)) != 0 {
			out = append(out, b)
		}
	}
	return out
}

func TestCharNgramBucketsMatchReference(t *testing.T) {
	ex, err := LoadGSM8K()
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"", "a", "ab", "Tom's half; THE REST?", strings.Repeat("x", 61), strings.Repeat("Yz", 31), strings.Repeat("q", 200) + " end"}
	for i := 0; i < len(ex); i += 7 {
		texts = append(texts, ex[i].Prompt)
	}
	for _, text := range texts {
		for _, n := range []int{100, 1024, 4096} {
			want := refBuckets(text, n, n == 100)
			got, v := bucketsOf(text, n, n == 100, true)
			if !slices.Equal(got, want) || (len(got) > 0 && math.Abs(v-1/math.Sqrt(float64(len(got)))) > 1e-12) {
				t.Fatalf("%.40q, %d buckets: %v (value %g), reference %v", text, n, got, v, want)
			}
		}
	}
	long := strings.Repeat("abc", 40)
	k := 0
	if n := testing.AllocsPerRun(20, func() { hashedBuckets(long, 1024, false, true, func(int, float64) { k++ }) }); n != 0 || k == 0 {
		t.Errorf("a %d-letter word allocates %v times (%d buckets)", len(long), n, k)
	}
}

// A model with char n-grams is told apart from one without, survives
// Marshal and Parse, learns from spelling a word model cannot use, and
// scores without allocating.
func TestCharNgramModel(t *testing.T) {
	// The strong model gains on prompts with a word ending in "-ation",
	// not on those with one ending in "-ement" (same length), each word
	// used once: word buckets cannot generalise from them, the n-grams
	// "tion", "ion>" can.
	var ex, test []Example
	for i := range 400 {
		e := Example{Prompt: fmt.Sprintf("Case %sement about plain things%s.", numberWord(i), strings.Repeat("!", i%7)), Weak: 1, Strong: 1}
		if i%2 == 0 {
			e.Prompt = fmt.Sprintf("Case %sation about plain things%s.", numberWord(i), strings.Repeat("!", i%7))
			e.Weak = 0
		}
		if i%5 < 4 {
			ex = append(ex, e)
		} else {
			test = append(test, e)
		}
	}
	// One dense feature (the prompts' lengths vary the same way in both
	// groups): the others are nearly constant here, and Marshal's rounding
	// of a tiny standard deviation would move the score.
	o := RobustOptions{Buckets: 1024, Iters: 200, L2Words: 0.001, Dense: []string{"log_chars"}}
	words := TrainRobust(ex, o)
	o.CharNgrams = true
	chars := TrainRobust(ex, o)
	if !chars.CharNgrams || words.CharNgrams {
		t.Fatalf("CharNgrams %v and %v, want true and false", chars.CharNgrams, words.CharNgrams)
	}
	aw, ac := apgrOf(words, test), apgrOf(chars, test)
	// A perfect ranking scores 0.75 here (the weak model is right on half
	// the prompts, the strong one on all), random 0.5.
	if ac < 0.74 || aw > 0.6 {
		t.Errorf("unseen -ation words: APGR %.3f with char n-grams, %.3f without; want ≥ 0.74 (perfect 0.75) and ≤ 0.6 (random 0.5)", ac, aw)
	}
	b, err := chars.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(b)
	if err != nil || !p.CharNgrams {
		t.Fatalf("parse: %v, char_ngrams %v", err, p != nil && p.CharNgrams)
	}
	prompt := test[0].Prompt
	if a, b := chars.Score(prompt), p.Score(prompt); math.Abs(a-b) > 1e-4 {
		t.Errorf("score %v before Marshal, %v after", a, b)
	}
	off := *p
	off.CharNgrams = false
	if off.Score(prompt) == p.Score(prompt) {
		t.Error("char_ngrams does not change the score")
	}
	if bl := Blend(chars, ex, 1); !bl.CharNgrams {
		t.Error("Blend drops CharNgrams")
	}
	if n := testing.AllocsPerRun(100, func() { p.Score(prompt) }); n != 0 {
		t.Errorf("Score with char n-grams allocates %v times, want 0", n)
	}
}

// numberWord spells i in letters only ("bcd" for 123), so each prompt has
// a word of its own.
func numberWord(i int) string {
	s := fmt.Sprint(i + 1000)
	b := make([]byte, len(s))
	for j := range s {
		b[j] = 'b' + s[j] - '0'
	}
	return string(b)
}

// BenchmarkScoreCharNgrams compares a 1,024-bucket word model with and
// without char n-grams (route-train's default buckets).
func BenchmarkScoreCharNgrams(b *testing.B) {
	ex, err := LoadGSM8K()
	if err != nil {
		b.Fatal(err)
	}
	p := "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
	for _, chars := range []bool{false, true} {
		m := TrainRobust(ex[:200], RobustOptions{Iters: 30, Buckets: 1024, CharNgrams: chars})
		b.Run(fmt.Sprintf("chars=%v", chars), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Score(p)
			}
		})
	}
}
