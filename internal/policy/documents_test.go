package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/policy/detect"
)

// A labelled document: text with the marks removed and the spans they
// marked.
type document struct {
	name  string
	text  string
	spans []labelled
}

type labelled struct {
	class      string
	start, end int
}

// loadDocuments reads testdata/documents/*.txt: documents separated by a
// "---" line, values marked ⟦class|value⟧.
func loadDocuments(t *testing.T) []document {
	files, err := filepath.Glob("testdata/documents/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no documents: %v", err)
	}
	var out []document
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, raw := range strings.Split(string(b), "\n---\n") {
			d := document{name: fmt.Sprintf("%s#%d", filepath.Base(f), i+1)}
			var sb strings.Builder
			for {
				k := strings.Index(raw, "⟦")
				if k < 0 {
					sb.WriteString(raw)
					break
				}
				sb.WriteString(raw[:k])
				raw = raw[k+len("⟦"):]
				e := strings.Index(raw, "⟧")
				bar := strings.IndexByte(raw, '|')
				if e < 0 || bar < 0 || bar > e {
					t.Fatalf("%s: bad mark near %q", d.name, raw[:min(len(raw), 40)])
				}
				start := sb.Len()
				sb.WriteString(raw[bar+1 : e])
				d.spans = append(d.spans, labelled{class: raw[:bar], start: start, end: sb.Len()})
				raw = raw[e+len("⟧"):]
			}
			d.text = sb.String()
			out = append(out, d)
		}
	}
	return out
}

// Bars: recall per class and overall precision on the documents.
var documentBars = map[string]float64{
	detect.ClassCard: 0.99, detect.ClassIBAN: 0.99, detect.ClassNationalID: 0.99, detect.ClassEmail: 0.99,
	detect.ClassIP: 0.99, detect.ClassIPPrivate: 0.99, detect.ClassSecret: 0.99,
	detect.ClassPhone: 0.97, detect.ClassMedical: 0.97,
}

const documentPrecisionBar = 0.98

// TestDocuments measures the detectors (through Engine.Find, so with the
// normalisation requests get) on the hand-written documents: a detection
// counts when its class, start and end match a label exactly. The table it
// logs is the one in docs/sovereignty.md.
func TestDocuments(t *testing.T) {
	e, err := New(config.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	docs := loadDocuments(t)
	var holdout []document
	for _, d := range docs {
		if strings.HasPrefix(d.name, "holdout-") {
			holdout = append(holdout, d)
		}
	}
	_, ht := measure(e, holdout, nil)
	t.Logf("held-out documents only (written after the detectors were tuned on the others):\n%s", ht)
	measure(e, docs, t)
}

// measure scans docs and returns the overall precision and a table of
// recall per class; with t, it checks the bars and logs misses.
func measure(e *Engine, docs []document, t *testing.T) (float64, string) {
	tp, fn, fp := map[string]int{}, map[string]int{}, map[string]int{}
	var misses, alarms []string
	for _, d := range docs {
		want := slices.Clone(d.spans)
		for _, s := range e.Find(d.text) {
			k := slices.IndexFunc(want, func(l labelled) bool { return l.class == s.Class && l.start == s.Start && l.end == s.End })
			if k >= 0 {
				tp[s.Class]++
				want = slices.Delete(want, k, k+1)
				continue
			}
			fp[s.Class]++
			alarms = append(alarms, fmt.Sprintf("%s: %s %q", d.name, s.Class, d.text[s.Start:s.End]))
		}
		for _, l := range want {
			fn[l.class]++
			misses = append(misses, fmt.Sprintf("%s: %s %q", d.name, l.class, d.text[l.start:l.end]))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d documents\n\n| class | labelled | found | missed | false alarms | recall | bar |\n|---|---|---|---|---|---|---|\n", len(docs))
	var sumTP, sumFP int
	for _, c := range slices.Sorted(func(yield func(string) bool) {
		for c := range documentBars {
			if !yield(c) {
				return
			}
		}
	}) {
		n := tp[c] + fn[c]
		recall := 1.0
		if n > 0 {
			recall = float64(tp[c]) / float64(n)
		}
		sumTP += tp[c]
		sumFP += fp[c]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.3f | %.2f |\n", c, n, tp[c], fn[c], fp[c], recall, documentBars[c])
		if t != nil && recall < documentBars[c] {
			t.Errorf("class %s: recall %.3f below %.2f", c, recall, documentBars[c])
		}
	}
	precision := float64(sumTP) / float64(sumTP+sumFP)
	fmt.Fprintf(&b, "\nprecision %.3f (%d found, %d false alarms; bar %.2f)\n", precision, sumTP, sumFP, documentPrecisionBar)
	if t == nil {
		return precision, b.String()
	}
	t.Log(b.String())
	if precision < documentPrecisionBar {
		t.Errorf("precision %.3f below %.2f", precision, documentPrecisionBar)
	}
	if len(misses) > 0 {
		t.Logf("missed:\n%s", strings.Join(misses, "\n"))
	}
	if len(alarms) > 0 {
		t.Logf("false alarms:\n%s", strings.Join(alarms, "\n"))
	}
	return precision, b.String()
}
