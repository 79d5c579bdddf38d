package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/policy/detect"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus.jsonl")

const corpusPath = "testdata/corpus.jsonl"

func TestCorpusUpToDate(t *testing.T) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, e := range genCorpus() {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(corpusPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(corpusPath)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Errorf("%s is stale: run go test ./internal/policy -run TestCorpusUpToDate -update", corpusPath)
	}
}

func loadCorpus(t *testing.T) []corpusEntry {
	b, err := os.ReadFile(corpusPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusEntry
	for line := range bytes.SplitSeq(bytes.TrimSpace(b), []byte("\n")) {
		var e corpusEntry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// Bars the corpus must meet. Checksum-validated classes are those whose
// values carry a check (Luhn, mod-97, SSA/NINO structure, NHS mod-11) or
// are fully structural (email, IP, provider token formats).
var recallBars = map[string]float64{
	detect.ClassCard: 0.99, detect.ClassIBAN: 0.99, detect.ClassNationalID: 0.99, detect.ClassEmail: 0.99,
	detect.ClassIP: 0.99, detect.ClassIPPrivate: 0.99, detect.ClassSecret: 0.99,
	detect.ClassPhone: 0.95, detect.ClassMedical: 0.95,
}

const precisionBar = 0.98

// TestCorpusRecallPrecision scans the corpus with every built-in detector
// and compares with the labels: a detection counts when class, start and
// end match exactly.
func TestCorpusRecallPrecision(t *testing.T) {
	e := testEngine(t)
	sc := e.Scanner()
	type key struct {
		id         string
		class      string
		start, end int
	}
	tp, fn := map[string]int{}, map[string]int{}
	fp := map[string]int{}
	var fpExamples, fnExamples []string
	for _, ent := range loadCorpus(t) {
		want := map[key]bool{}
		for _, l := range ent.Spans {
			want[key{ent.ID, l.Class, l.Start, l.End}] = true
		}
		for _, s := range sc.Scan(ent.Text, detect.Builtin, nil) {
			k := key{ent.ID, s.Class, s.Start, s.End}
			if want[k] {
				tp[s.Class]++
				delete(want, k)
			} else {
				fp[s.Class]++
				if len(fpExamples) < 10 {
					fpExamples = append(fpExamples, fmt.Sprintf("%s %s %q", ent.ID, s.Class, ent.Text[s.Start:s.End]))
				}
			}
		}
		for k := range want {
			fn[k.class]++
			if len(fnExamples) < 10 {
				fnExamples = append(fnExamples, fmt.Sprintf("%s %s %q", ent.ID, k.class, ent.Text[k.start:k.end]))
			}
		}
	}
	classes := slices.Sorted(func(yield func(string) bool) {
		for c := range recallBars {
			if !yield(c) {
				return
			}
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "\n| class | labelled | found | missed | false alarms | recall | bar |\n|---|---|---|---|---|---|---|\n")
	var sumTP, sumFP int
	failed := false
	for _, c := range classes {
		n := tp[c] + fn[c]
		recall := 1.0
		if n > 0 {
			recall = float64(tp[c]) / float64(n)
		}
		sumTP += tp[c]
		sumFP += fp[c]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.4f | %.2f |\n", c, n, tp[c], fn[c], fp[c], recall, recallBars[c])
		if n == 0 || recall < recallBars[c] {
			failed = true
			t.Errorf("class %s: recall %.4f below %.2f (%d labelled)", c, recall, recallBars[c], n)
		}
	}
	precision := float64(sumTP) / float64(sumTP+sumFP)
	fmt.Fprintf(&b, "\noverall precision %.4f (%d true, %d false alarms; bar %.2f)\n", precision, sumTP, sumFP, precisionBar)
	t.Log(b.String())
	if precision < precisionBar {
		failed = true
		t.Errorf("precision %.4f below %.2f", precision, precisionBar)
	}
	if failed {
		t.Logf("missed:\n%s", strings.Join(fnExamples, "\n"))
	}
	t.Logf("false alarms (first 10):\n%s", strings.Join(fpExamples, "\n"))
}
