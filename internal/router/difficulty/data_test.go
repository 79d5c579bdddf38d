package difficulty

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFileFormatsAndErrors(t *testing.T) {
	write := tempWriter(t)
	csvPath := write("a.csv", "prompt,weak,strong,domain\n\"Hi, there\",true,false,x/y\nQ2,0.3,1,x\n")
	ex, err := LoadFile(csvPath, Columns{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 2 || ex[0].Prompt != "Hi, there" || ex[0].Weak != 1 || ex[0].Strong != 0 || ex[0].Domain != "x/y" || ex[1].Weak != 0.3 {
		t.Errorf("csv %+v", ex)
	}
	jl := write("b.jsonl", `{"question":"Q","weak_correct":false,"strong_correct":true}`+"\n\n"+`{"question":"R","weak_correct":1,"strong_correct":"yes"}`+"\n")
	ex, err = LoadFile(jl, Columns{})
	if err != nil || len(ex) != 2 || ex[0].Strong != 1 || ex[1].Weak != 1 {
		t.Errorf("jsonl %+v %v", ex, err)
	}
	// Mean gain (1 - 0 + 1 - 1) / 2 = 0.5 per record: LabelGain by hand.
	if g := LabelGain(&ex[0]); g != 1 {
		t.Errorf("gain %v", g)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"c.csv", "prompt,weak\nq,true\n", "no column strong"},
		{"d.csv", "prompt,weak,strong\nq,maybe,true\n", "csv line 2: weak: \"maybe\" is not true/false"},
		{"e.jsonl", `{"prompt":"q","weak":2,"strong":1}`, "jsonl line 1: weak"},
		{"f.txt", "x", "unknown format"},
		{"g.csv", "prompt,weak,strong\n", "no records"},
		// An unterminated quote: an error with its line, not a panic
		// (csv.Reader.FieldPos after a failed Read).
		{"h.csv", "prompt,weak,strong\n\"unterminated,1,1\n", "csv: parse error on line 2, column 19"},
		// NaN parses as a float and passed the range check; scoring it hung.
		{"i.csv", "prompt,weak,strong\nq,0.5,NaN\n", `strong: "NaN" is not true/false or a score in [0, 1]`},
		{"j.jsonl", `{"prompt":"q","weak":"nan","strong":1}`, `weak: "nan" is not true/false`},
		{"k.csv", "", "the file is empty"},
		{"l.csv", "prompt,weak,strong,prompt\na,1,0,b\n", `column "prompt" given twice (columns 1 and 4)`},
	} {
		if _, err := LoadFile(write(tc.name, tc.body), Columns{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// tempWriter returns a function that writes a file in a fresh temporary
// directory and returns its path.
func tempWriter(t *testing.T) func(name, body string) string {
	dir := t.TempDir()
	return func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// The embedded recordings reproduce the published accuracies.
func TestEmbeddedDomains(t *testing.T) {
	want := map[string]struct {
		n            int
		weak, strong float64
	}{"gsm8k": {1319, 0.638, 0.857}, "mmlu": {14042, 0.681, 0.806}, "mt_bench": {160, 0.834, 0.923}}
	for _, d := range Domains {
		ex, err := LoadDomain(d)
		if err != nil {
			t.Fatal(err)
		}
		m := Evaluate(ex, make([]float64, len(ex)))
		w := want[d]
		if len(ex) != w.n || math.Abs(m.WeakAccuracy-w.weak) > 0.0005 || math.Abs(m.StrongAccuracy-w.strong) > 0.0005 {
			t.Errorf("%s: %d records, weak %.4f strong %.4f", d, len(ex), m.WeakAccuracy, m.StrongAccuracy)
		}
	}
}

// Blend with alpha 0 ranks exactly like the length rule; ThresholdFor maps
// a share to the model's own score quantiles.
func TestBlendAndThreshold(t *testing.T) {
	ex, _ := LoadDomain("mt_bench")
	m := TrainRobust(ex, RobustOptions{Iters: 50})
	b := Blend(m, ex, 0)
	length := make([]float64, len(ex))
	blend := make([]float64, len(ex))
	for i := range ex {
		length[i], blend[i] = float64(len(ex[i].Prompt)), b.Score(ex[i].Prompt)
	}
	if a, c := Evaluate(ex, length).APGR, Evaluate(ex, blend).APGR; math.Abs(a-c) > 1e-9 {
		t.Errorf("alpha 0: APGR %v, length rule %v", c, a)
	}
	b.Quantiles = quantiles(b, ex)
	th, ok := b.ThresholdFor(0.3)
	if !ok {
		t.Fatal("no quantiles")
	}
	above := 0
	for _, s := range blend {
		if s >= th {
			above++
		}
	}
	if share := float64(above) / float64(len(ex)); share < 0.25 || share > 0.36 {
		t.Errorf("threshold for 30%% sends %.2f", share)
	}
	bs, _ := b.Marshal()
	back, err := Parse(bs)
	if err != nil || len(back.Quantiles) != 101 {
		t.Fatalf("round trip: %v", err)
	}
}

// The topic score learns which labelled topic gains from the strong model
// from the words that mark it: "chemistry" prompts gain (weak wrong, strong
// right), "poetry" prompts do not; an unseen prompt with chemistry words
// scores higher than one with poetry words. It survives a file round trip.
func TestTopics(t *testing.T) {
	var ex []Example
	for i := range 60 {
		ex = append(ex,
			Example{Prompt: fmt.Sprintf("molar mass of compound %d reacts with acid", i), Weak: 0, Strong: 1, Domain: "chemistry"},
			Example{Prompt: fmt.Sprintf("write a sonnet about the moon, verse %d", i), Weak: 1, Strong: 1, Domain: "poetry"})
	}
	tp := FitTopics(ex, 256)
	if tp == nil || len(tp.Names) != 2 || tp.Gain[0] != 1 || tp.Gain[1] != 0.5 {
		t.Fatalf("topics %+v", tp)
	}
	if a, b := tp.raw("which acid reacts with this compound"), tp.raw("a sonnet for the moon"); !(a > 0.9 && b < 0.6) {
		t.Errorf("chemistry-like %.3f, poetry-like %.3f", a, b)
	}
	res := TrainAndBlend(ex, RobustOptions{Iters: 30})
	bs, err := res.Model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(bs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Beta > 0 && m.Topics == nil {
		t.Error("topics lost in the round trip")
	}
	if m.Score("compound reacts with acid") <= m.Score("sonnet about the moon") {
		t.Errorf("beta %v: chemistry %v <= poetry %v", res.Beta, m.Score("compound reacts with acid"), m.Score("sonnet about the moon"))
	}
	// Fewer than two labels with enough examples: no classifier.
	if FitTopics(ex[:30], 256) != nil {
		t.Error("topics from 15 examples per label")
	}
}

// What other tools export: a JSON array, a byte-order mark and blank lines
// before JSON Lines, tab-separated values; and errors that say what is wrong.
func TestLoadFileExportFormats(t *testing.T) {
	write := tempWriter(t)
	for _, tc := range []struct {
		name, body string
		n          int
		weak0      float64
	}{
		{"arr.json", "\ufeff\n  [{\"prompt\":\"A\",\"weak\":true,\"strong\":false},\n{\"prompt\":\"B\",\"weak\":0.25,\"strong\":\"yes\"}]\n", 2, 1},
		{"bom.jsonl", "\ufeff\n\n{\"prompt\":\"A\",\"weak\":false,\"strong\":true}\n", 1, 0},
		{"t.tsv", "prompt\tweak\tstrong\nWhat is 2, plus 2?\t0.5\t1\n", 1, 0.5},
	} {
		ex, err := LoadFile(write(tc.name, tc.body), Columns{})
		if err != nil || len(ex) != tc.n || ex[0].Weak != tc.weak0 {
			t.Errorf("%s: %+v %v", tc.name, ex, err)
		}
	}
	for _, tc := range []struct{ name, body, want string }{
		// The line number counts the blank lines before the first record.
		{"e1.jsonl", "\n\n{\"prompt\":\"q\",\"weak\":null,\"strong\":1}\n", "jsonl line 3: field weak is null"},
		{"e2.json", `[{"prompt":"q","weak":1,"strong":1},{"prompt":"r","weak":[1],"strong":1}]`, "json array element 2: field weak is a JSON array"},
		{"e3.json", `[{"prompt":"q","weak":1,"strong":1}`, "json array"},
		{"e4.json", "  \n", "no records"},
		{"e5.json", `[{"prompt":"q","weak":1,"strong":0}] [{"prompt":"r","weak":1,"strong":0}]`, "more after the array's end"},
	} {
		if _, err := LoadFile(write(tc.name, tc.body), Columns{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// A resample in which both models are equally accurate has no APGR; the
// s.d. leaves it out instead of counting it as 0, and says when it cannot
// be estimated at all.
func TestBootstrapSDSkipsResamplesWithoutGap(t *testing.T) {
	// Two records, one with a gap: a quarter of resamples draw b twice and
	// have no gap. With equal scores (random routing's expected curve) every
	// resample with a gap has APGR 0.5: the s.d. must be 0, not the spread
	// between 0.5 and the 0 an undefined APGR used to count as.
	ex := []Example{{Prompt: "a", Weak: 0, Strong: 1}, {Prompt: "b", Weak: 1, Strong: 1}}
	if sd := BootstrapSD(ex, []float64{0, 0}, 200); sd != 0 {
		t.Errorf("s.d. %g, want 0", sd)
	}
	same := []Example{{Prompt: "a", Weak: 1, Strong: 1}, {Prompt: "b", Weak: 0, Strong: 0}}
	if sd := BootstrapSD(same, []float64{1, 0}, 200); !math.IsNaN(sd) {
		t.Errorf("no gap in any resample: s.d. %g, want NaN", sd)
	}
}
