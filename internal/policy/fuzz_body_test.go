package policy

import (
	"strings"
	"testing"
	"unicode"

	"github.com/fulcrumhq/fulcrum/internal/jsonscan"
	"golang.org/x/text/unicode/norm"
)

// planted are values FuzzEvaluateBody plants in random JSON: every
// occurrence of the letters PLANT in a document is replaced by one of them
// (or by an obfuscated spelling), between spaces.
var planted = []string{
	"ann.leak@example.com", "ann.leak＠example.com", "ann\u200b.leak@exam\u00adple.com", `ann.leak\u0040example.com`,
	"4111 1111 1111 1111", "4111/1111/1111/1111", "4111_1111_1111_1111", "４１１１ １１１１ １１１１ １１１１",
	"DE89 3704 0044 0532 0130 00", "DE89-3704-0044-0532-0130-00", "+44 20 7946 0958", "+44\u00a020\u00a07946\u00a00958",
	"078-05-1120", "sk-proj-abcDEF1234567890abcDEF1234567890abcd",
}

// canonical reduces text to lower-case letters, digits and '@' after NFKC
// and the removal of invisible characters, so that a value is found in it
// whatever separators or look-alikes spell it.
func canonical(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '@' || unicode.IsDigit(r):
			b.WriteRune(r)
		case unicode.IsLetter(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// FuzzEvaluateBody: random JSON documents with planted values, evaluated
// under a redact policy. Property: the document is refused, or kept on
// self-hosted providers, or the body that would be forwarded (every string
// in it, decoded) holds no planted value in any spelling.
func FuzzEvaluateBody(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"PLANT"}]}`,
		`{"user":"PLANT","metadata":{"PLANT":"x"},"stop":["PLANT"]}`,
		`{"messages":[{"tool_calls":[{"id":"PLANT","function":{"name":"f","arguments":"{\"a\":\"PLANT\"}"}}]}]}`,
		`{"x":[{"y":{"z":"mail PLANT now"}}],"n":1}`,
		`{"content":"PLANT","Content":"hi"}`, `{"a":"PLANT \q"}`,
		`{"tools":[{"function":{"description":"PLANT","parameters":{"properties":{"e":{"enum":["PLANT"]}}}}}]}`,
	} {
		for i := range planted {
			f.Add([]byte(s), uint8(i))
		}
	}
	e := testEngine(f)
	f.Fuzz(func(t *testing.T, doc []byte, pick uint8) {
		v := planted[int(pick)%len(planted)]
		// Spaces around the value: digits glued to a number make another
		// number, which is not the planted value.
		body := strings.ReplaceAll(string(doc), "PLANT", " "+v+" ")
		d, err := e.EvaluateBody(Input{Body: []byte(body), Policies: []string{"redact"}})
		if err != nil || d.Action >= ActionSelfHostedOnly {
			return
		}
		want := canonical(strings.ReplaceAll(v, `\u0040`, "@"))
		jsonscan.WalkAll(d.Body(), func(s *jsonscan.String) {
			if strings.Contains(canonical(s.Text), want) || strings.Contains(canonical(string(unescapeJSONish(nil, s.Text))), want) {
				t.Fatalf("planted %q forwarded (action %v) in %q\nbody %s", v, d.Action, s.Text, d.Body())
			}
		})
	})
}
