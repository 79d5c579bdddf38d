package policy

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// partsBody is a chat body with one user message whose content parts are
// the given texts.
func partsBody(t testing.TB, parts ...string) []byte {
	t.Helper()
	type part struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	var ps []part
	for _, p := range parts {
		ps = append(ps, part{"text", p})
	}
	b, err := json.Marshal(map[string]any{"model": "m", "messages": []any{map[string]any{"role": "user", "content": ps}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLongBase64CutMidGroup: a long base64 string cut inside a
// 4-character group, its value far past the cut (beyond what a seam
// reads), is found: the second part is read from where its groups start.
func TestLongBase64CutMidGroup(t *testing.T) {
	e := testEngine(t)
	text := strings.Repeat("The quarterly report is ready for the board. ", 200) + "Write to ann.leak@example.com today."
	enc := base64.StdEncoding.EncodeToString([]byte(text))
	for _, cut := range []int{1001, 1002, 1003} {
		d, err := e.EvaluateBody(Input{Body: partsBody(t, enc[:cut], enc[cut:])})
		if err != nil {
			t.Fatal(err)
		}
		if classes, _ := d.Header(); classes != "email" || d.Action != ActionSelfHostedOnly {
			t.Errorf("cut at %d: classes %q action %v", cut, classes, d.Action)
		}
	}
}

// TestBase64SplitCorpus encodes every text of the labelled corpus in
// base64 and cuts it in two content parts (at a third of its length: in
// the middle of a 4-character group for two in three texts, and through
// a value for many). Precision: no class is found that neither the
// text's labels hold nor the plain text cut at the same place finds (a
// cut value's rest read alone (from its first whole group: up to two
// bytes of the plain text at the cut are lost to decoding), "5000 0427 8876" of an IBAN, can look like
// a phone number: the seam reads the whole value, and each part is read
// alone too; base64 adds nothing to that). Recall: the labelled classes
// of at least 95% of the texts holding some are all found (the
// detectors' own recall bars are 0.95 to 0.99).
func TestBase64SplitCorpus(t *testing.T) {
	e, err := New(config.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	classes := func(parts ...string) []string {
		d, err := e.EvaluateBody(Input{Body: partsBody(t, parts...)})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range d.Classes {
			out = append(out, c.Class)
		}
		return out
	}
	var positives, recalled, alarms, asPlain int
	for _, ent := range loadCorpus(t) {
		enc := base64.StdEncoding.EncodeToString([]byte(ent.Text))
		cut := len(enc) / 3
		got := classes(enc[:cut], enc[cut:])
		// The right part is read from its first whole 4-character group:
		// its text starts up to two bytes after the cut's.
		var plain []string
		for p := cut * 3 / 4; p <= min(cut*3/4+2, len(ent.Text)); p++ {
			for _, c := range classes(ent.Text[:cut*3/4], ent.Text[p:]) {
				if !slices.Contains(plain, c) {
					plain = append(plain, c)
				}
			}
		}
		slices.Sort(plain)
		if slices.Equal(got, plain) {
			asPlain++
		}
		positive, all, n := scoreEntry(t, ent, got, plain)
		alarms += n
		if positive {
			positives++
		}
		if all {
			recalled++
		}
	}
	recall := float64(recalled) / float64(positives)
	t.Logf("%d texts with values, %d with every class found (%.3f); %d false alarms; %d of all texts find what the plain text cut alike finds",
		positives, recalled, recall, alarms, asPlain)
	if recall < 0.95 {
		t.Errorf("recall %.3f below 0.95", recall)
	}
}

// TestBase32: a value encoded in base32 (RFC 4648, padded or not, upper
// or lower case) is found as base64 is; every text of the labelled corpus
// encoded so is found as its plain text is (recall ≥ 0.95, no class its
// labels or plain text do not hold).
func TestBase32(t *testing.T) {
	e, err := New(config.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	classes := func(text string) []string {
		d, err := e.EvaluateBody(Input{Body: partsBody(t, text)})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range d.Classes {
			out = append(out, c.Class)
		}
		return out
	}
	enc := base32.StdEncoding.EncodeToString([]byte("ann@example.com")) // 24 characters, no padding
	padded := base32.StdEncoding.EncodeToString([]byte("jo@example.com"))
	for _, text := range []string{
		"decode this: " + enc,
		"decode this: " + padded,
		"decode this: " + strings.TrimRight(padded, "="),
		"decode this: " + strings.ToLower(enc),
	} {
		if got := classes(text); !slices.Equal(got, []string{"email"}) {
			t.Errorf("%q: classes %v, want [email]", text, got)
		}
	}
	for _, text := range []string{
		"MIXEDcaseMFXG4QDFPBQW24DMMUXGG33N",         // not one alphabet
		"internationalization and ABCDEFGHABCDEFGH", // words, no text inside
	} {
		if got := classes(text); len(got) != 0 {
			t.Errorf("%q: classes %v, want none", text, got)
		}
	}
	var positives, recalled int
	for _, ent := range loadCorpus(t) {
		got := classes(base32.StdEncoding.EncodeToString([]byte(ent.Text)))
		positive, all, _ := scoreEntry(t, ent, got, classes(ent.Text))
		if positive {
			positives++
		}
		if all {
			recalled++
		}
	}
	if recall := float64(recalled) / float64(positives); recall < 0.95 {
		t.Errorf("recall %.3f of %d texts below 0.95", recall, positives)
	}
}

func TestBase64ByteTable(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
	for c := range 256 {
		if got, want := isBase64Byte(byte(c)), strings.IndexByte(alphabet, byte(c)) >= 0; got != want {
			t.Errorf("isBase64Byte(%q) = %v, want %v", byte(c), got, want)
		}
	}
}

// scoreEntry checks the classes got found in an encoded corpus text: each
// must be among the entry's labels or plain (what the plain text finds);
// it reports the others as errors and counts them (alarms), and says
// whether the entry has labels (positive) and got holds all of them.
func scoreEntry(t *testing.T, ent corpusEntry, got, plain []string) (positive, all bool, alarms int) {
	t.Helper()
	var want []string
	for _, l := range ent.Spans {
		if !slices.Contains(want, l.Class) {
			want = append(want, l.Class)
		}
	}
	for _, c := range got {
		if !slices.Contains(want, c) && !slices.Contains(plain, c) {
			alarms++
			t.Errorf("%s: class %s found, labels hold %v, the plain text finds %v", ent.ID, c, want, plain)
		}
	}
	if len(want) == 0 {
		return false, false, alarms
	}
	all = true
	for _, c := range want {
		all = all && slices.Contains(got, c)
	}
	return true, all, alarms
}
