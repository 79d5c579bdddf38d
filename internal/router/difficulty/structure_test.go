package difficulty

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStructureFeatures checks the structure features of hand-made prompts;
// each value was counted by hand (the comments show the counting).
func TestStructureFeatures(t *testing.T) {
	pos := map[string]int{}
	for i, n := range FeatureNames {
		pos[n] = i
	}
	for _, n := range structNames {
		if pos[n] < nBase {
			t.Fatalf("structure feature %s at %d, inside the base features", n, pos[n])
		}
	}
	tests := []struct {
		name, text string
		want       map[string]float64
	}{
		{"word problem", "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins with four. She sells the remainder for $2 per egg. How much does she make every day?", map[string]float64{
			"s:quantities":       4, // 16, three, four, 2
			"s:op_cues":          5, // per, every, remainder, per, every
			"s:distinct_op_cues": 3, // per, every, remainder
			"s:chain_refs":       1, // remainder
			"s:number_sentences": 3, // all but the question
			"s:setup_sentences":  3,
			"s:question_words":   7, // How much does she make every day
			"s:question_numbers": 0,
			"s:options":          0, "s:option_log_chars": 0, "s:negations": 0, "s:lines": 0,
			"s:stem_log_chars": math.Log1p(float64(len("Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins with four. She sells the remainder for $2 per egg. How much does she make every day?"))),
		}},
		{"question in the middle", "If a pen costs 3 dollars, how many pens does 12 dollars buy? Answer in words.", map[string]float64{
			"s:conditions": 1, "s:setup_sentences": 0, "s:question_words": 11, "s:question_numbers": 2,
			"s:number_sentences": 1, "s:quantities": 2,
		}},
		{"negated multiple choice", "Which of the following is NOT a prime number?\nA. 2\nB. 3\nC. 9\nD. 11\nAnswer:", map[string]float64{
			"s:negations": 1, "s:caps_negations": 1, "s:options": 4, "s:numeric_options": 1,
			"s:option_log_chars": math.Log1p(1.25), // lengths 1, 1, 1, 2
			"s:option_spread":    1 / 2.25,         // (2 - 1) / (1.25 + 1)
			"s:option_overlap":   0,                // no words in the options
			"s:lines":            5,
			"s:stem_log_chars":   math.Log1p(float64(len("Which of the following is NOT a prime number?\n"))),
			"s:setup_sentences":  0, "s:question_words": 9,
		}},
		{"statements and roman numerals", "Which are true? I. x = 1 II. y < 2 III. z ≥ 3\n(A) I and II only\n(B) II and III only\n(C) I, II and III\n(D) none of them\nAnswer:", map[string]float64{
			"s:roman":        7, // II, III; II; II, III; II, III (a capital I alone is not counted)
			"s:options":      4,
			"s:math_symbols": 3, // =, <, ≥
			"s:negations":    1, // none
			"s:chain_refs":   1, // them
			// Distinct option words (the letters i, ii, iii count as words):
			// i, and, ii, only, iii, none, of, them = 8; in two or more
			// options: i, and, ii, only, iii = 5.
			"s:option_overlap": 5.0 / 8,
		}},
		{"code", "def f(x):\n    return {k: x[k] for k in x}  # keys; values", map[string]float64{
			"s:code_symbols": 6, // { [ ] } # ;
			"s:lines":        1, "s:options": 0,
		}},
		{"second turn", "Rewrite your previous response. Start every sentence with the letter A.", map[string]float64{
			"s:instructions": 1, // rewrite
			"s:context_refs": 4, // rewrite, your, previous, response
			"s:op_cues":      1, // every
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := make([]float64, nFeatures)
			extract(tt.text, f)
			for n, want := range tt.want {
				j, ok := pos[n]
				if !ok {
					t.Fatalf("no feature %s", n)
				}
				if got := f[j]; math.Abs(got-want) > 1e-9 {
					t.Errorf("%s = %v, want %v", n, got, want)
				}
			}
		})
	}
}

// TestStructureLeavesBaseFeatures: computing the structure features does
// not change a base feature.
func TestStructureLeavesBaseFeatures(t *testing.T) {
	for _, p := range []string{"", "Which of the following is NOT true?\nA. 1\nB. 2", "Tom has 3 apples and twice as many pears. How many fruits?"} {
		a, b := make([]float64, nFeatures), make([]float64, nFeatures)
		extractBase(p, a)
		extract(p, b)
		for j := range nBase {
			if a[j] != b[j] {
				t.Errorf("%q: %s %v without structure, %v with", p, FeatureNames[j], a[j], b[j])
			}
		}
		for j := nBase; j < nFeatures; j++ {
			if a[j] != 0 {
				t.Errorf("%q: extractBase set %s", p, FeatureNames[j])
			}
		}
	}
}

// TestOldRouterFilesScoreIdentically: router files written before the
// structure features existed (the shipped router of that time, and a
// hand-made file with hashed words, bigrams and topics) load and give
// exactly the scores the code of that time gave (testdata/scores_v1.json,
// written by commit 697ac69's Score).
func TestOldRouterFilesScoreIdentically(t *testing.T) {
	b, err := os.ReadFile("testdata/scores_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []struct {
		Router, Prompt string
		Score          float64
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	models := map[string]*Model{}
	for _, w := range want {
		m := models[w.Router]
		if m == nil {
			b, err := os.ReadFile(filepath.Join("testdata", w.Router))
			if err != nil {
				t.Fatal(err)
			}
			if m, err = Parse(b); err != nil {
				t.Fatalf("%s: %v", w.Router, err)
			}
			if m.structure {
				t.Fatalf("%s uses structure features", w.Router)
			}
			models[w.Router] = m
		}
		if got := m.Score(w.Prompt); got != w.Score {
			t.Errorf("%s: Score(%.40q) = %v, was %v", w.Router, w.Prompt, got, w.Score)
		}
	}
	if len(models) != 2 || len(want) < 10 {
		t.Fatalf("%d routers, %d scores", len(models), len(want))
	}
}

// TestTrainStructureOption: the structure features enter a model only
// with RobustOptions.Structure, and such a model still scores without
// allocating.
func TestTrainStructureOption(t *testing.T) {
	ex, err := LoadGSM8K()
	if err != nil {
		t.Fatal(err)
	}
	ex = ex[:200]
	uses := func(m *Model) bool {
		for _, w := range m.Features {
			if strings.HasPrefix(w.Name, "s:") {
				return true
			}
		}
		return false
	}
	off := TrainRobust(ex, RobustOptions{Iters: 30})
	on := TrainRobust(ex, RobustOptions{Iters: 30, Structure: true})
	if uses(off) || off.structure || len(off.Features) != nBase {
		t.Errorf("without Structure: %d features, structure %v", len(off.Features), off.structure)
	}
	if !uses(on) || !on.structure || len(on.Features) != nFeatures {
		t.Errorf("with Structure: %d features, structure %v", len(on.Features), on.structure)
	}
	// Written and read back, the model keeps its structure features.
	b, err := on.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(b)
	if err != nil || !p.structure {
		t.Fatalf("parse: %v, structure %v", err, p != nil && p.structure)
	}
	prompt := "Which of the following is NOT a prime number?\nA. 2\nB. 3\nC. 9\nD. 11\nAnswer:"
	if a, b := on.Score(prompt), p.Score(prompt); math.Abs(a-b) > 1e-4 {
		t.Errorf("score %v before Marshal, %v after", a, b)
	}
	p.Score(prompt)
	if n := testing.AllocsPerRun(100, func() { p.Score(prompt) }); n != 0 {
		t.Errorf("Score with structure features allocates %v times, want 0", n)
	}
}

func BenchmarkScoreStructure(b *testing.B) {
	ex, err := LoadGSM8K()
	if err != nil {
		b.Fatal(err)
	}
	m := TrainRobust(ex[:200], RobustOptions{Iters: 30, Structure: true})
	p := "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
	b.ReportAllocs()
	for b.Loop() {
		m.Score(p)
	}
}
