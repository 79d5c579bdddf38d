package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzWalk checks Walk against encoding/json: whatever Walk accepts is
// valid JSON and each string it reports decodes, with encoding/json, to
// the same text; what encoding/json accepts and Walk refuses is refused
// for one of Walk's extra rules (duplicate keys, surrogates, depth).
// Rewriting every string to itself yields a document Walk accepts with the
// same strings.
func FuzzWalk(f *testing.F) {
	for _, s := range []string{
		`{"a":"b"}`, `{"a":"\u0040\ud83d\ude00","b":[1,2.5e3,{"c":null}]}`, `{"a":1,"A":2}`, `"\q"`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"user":"x@y.com"}`, `[[[]]]`, `{"a":"\ud800"}`,
		// Long runs, to exercise the eight-bytes-at-a-time string scan.
		`{"k":"0123456789abcdefghij\n0123456789 ü0123456789\"quoted\"0123456789\\","l":"plain plain plain plain"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var texts []string
		var edits []Edit
		err := Walk(doc, func(s *String) {
			var want string
			if e := json.Unmarshal(doc[s.Start:s.End], &want); e != nil {
				t.Fatalf("literal %q: encoding/json: %v", doc[s.Start:s.End], e)
			}
			if want != s.Text {
				t.Fatalf("literal %q: Walk %q, encoding/json %q", doc[s.Start:s.End], s.Text, want)
			}
			texts = append(texts, strings.Clone(s.Text))
			edits = append(edits, Edit{Start: s.Start, End: s.End, Text: strings.Clone(s.Text)})
		})
		valid := json.Valid(doc)
		if err == nil {
			if !valid {
				t.Fatalf("Walk accepted invalid JSON %q", doc)
			}
			out := Rewrite(doc, edits)
			var again []string
			if err := Walk(out, func(s *String) { again = append(again, strings.Clone(s.Text)) }); err != nil {
				t.Fatalf("rewritten document refused: %v\n%s", err, out)
			}
			if strings.Join(again, "\x00") != strings.Join(texts, "\x00") {
				t.Fatalf("rewrite changed strings: %q -> %q", texts, again)
			}
			return
		}
		if valid {
			r := err.(*Error).Reason
			if !strings.Contains(r, "duplicate key") && !strings.Contains(r, "surrogate") && !strings.Contains(r, "nesting") && !strings.Contains(r, "invalid UTF-8") {
				t.Fatalf("Walk refused valid JSON %q: %v", doc, err)
			}
		}
	})
}
