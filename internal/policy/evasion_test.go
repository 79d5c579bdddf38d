package policy

import (
	"strings"
	"testing"
)

// TestStyledAndInvisibleSpellings: spellings a model reads as the value
// they draw passed as no sensitive data (red-team of 2026-12-07): format
// characters other than the zero-width ones (word joiner aside: U+2063
// invisible separator, U+180E, tag characters), variation selectors and
// the combining grapheme joiner inside a number; combining marks drawing
// a digit underlined or struck through; dingbat and double-circled digits
// NFKC leaves alone; digit groups joined by '|', '+', '*' or a middle dot
// or bullet; an ideographic full stop in a domain; Latin letters drawn
// like another (dotless "ı", Latin alpha "ɑ"). Each is found, and
// redaction replaces what the client wrote.
func TestStyledAndInvisibleSpellings(t *testing.T) {
	e := testEngine(t)
	found := []struct{ text, class string }{
		{"card 4111\u20631111\u20631111\u20631111", "payment_card"},
		{"card 4111\u180e1111\u180e1111\u180e1111", "payment_card"},
		{"card 4\U000E0031111 1111 1111 1111", "payment_card"},
		{"card 4\ufe0f111 1111 1111 1111", "payment_card"},
		{"card 4\u034f111 1111 1111 1111", "payment_card"},
		{"card 4\u03321\u03321\u03321\u0332 1111 1111 1111", "payment_card"},
		{"card 4\u0336111 1111 1111 1111", "payment_card"},
		{"card 4\ufe0f\u20e31\ufe0f\u20e31\ufe0f\u20e31\ufe0f\u20e3 1111 1111 1111", "payment_card"},
		{"card \u2779\u2776\u2776\u2776 \u2776\u2776\u2776\u2776 \u2776\u2776\u2776\u2776 \u2776\u2776\u2776\u2776", "payment_card"},
		{"card \u278d\u278a\u278a\u278a \u2780\u2780\u2780\u2780 1111 1111", "payment_card"},
		{"card \u24f8\u24f5\u24f5\u24f5 \u24f5\u24f5\u24f5\u24f5 \u24f5\u24f5\u24f5\u24f5 \u24f5\u24f5\u24f5\u24f5", "payment_card"},
		{"card 4111|1111|1111|1111", "payment_card"},
		{"card 4111+1111+1111+1111", "payment_card"},
		{"card 4111*1111*1111*1111", "payment_card"},
		{"card 4111\u00b71111\u00b71111\u00b71111", "payment_card"},
		{"card 4111\u20221111\u20221111\u20221111", "payment_card"},
		{"mail ann.leak@example\u3002com", "email"},
		{"mail ann.leak@example\uff61com", "email"},
		{"mail ann.le\u0131k@example.com", "email"},
		{"mail ann.leak@ex\u0251mple.com", "email"},
		{"mail ann.leak\u202e@example.com", "email"},
	}
	for _, c := range found {
		d, err := e.EvaluateBody(Input{Body: partsBody(t, "please note: "+c.text+" thanks"), Policies: []string{"redact"}})
		if err != nil {
			t.Fatal(err)
		}
		if classes, _ := d.Header(); classes != c.class || d.Action != ActionRedact {
			t.Errorf("%+q: classes %q action %v, want %s redacted", c.text, classes, d.Action, c.class)
			continue
		}
		out := string(d.Body())
		if !strings.Contains(out, "["+strings.ToUpper(c.class)+"_1]") || strings.Contains(out, "1111") || strings.Contains(out, "leak") {
			t.Errorf("%+q: redacted body %s", c.text, out)
		}
	}
	for _, text := range []string{
		"I ❤️ it 👍🏽, C++ 2024+1 and 3*4 = 12, | 12 | 34 |",
		"El col·legi obre a les 9·30; punts • un • dos",
		"नमस्ते, मेरा ऑर्डर कल आया। धन्यवाद",
		"مرحبا\u200f بالعالم\u200e 2024",
		"ISBN 978-3-16-148410-0, build 2024|05|17, ticket 1234*5678",
		"東京。大阪。名古屋。",
	} {
		d, err := e.EvaluateBody(Input{Body: partsBody(t, text)})
		if err != nil {
			t.Fatal(err)
		}
		if classes, _ := d.Header(); classes != "" {
			t.Errorf("%q: classes %q, want none", text, classes)
		}
	}
}

// TestSecretUnderItsName: a value under a secret's name is read behind
// that name whatever its length. An MCP server's authorization token of
// 100 characters (Anthropic mcp_servers, a Responses mcp tool's
// authorization or headers) was scanned alone, where no detector knows
// a token without a provider prefix, and was forwarded.
func TestSecretUnderItsName(t *testing.T) {
	e := testEngine(t)
	tok := strings.Repeat("a8Fk29dLq0ZxP3mN7vB1Qw4Er5Ty6Ui7Op8As9D", 3)[:100]
	for _, body := range []string{
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"mcp_servers":[{"type":"url","url":"https://mcp.example.com/sse","name":"x","authorization_token":"` + tok + `"}]}`,
		`{"model":"m","input":"hi","tools":[{"type":"mcp","server_label":"x","server_url":"https://mcp.example.com","authorization":"` + tok + `"}]}`,
		`{"model":"m","input":"hi","tools":[{"type":"mcp","server_label":"x","server_url":"https://mcp.example.com","headers":{"X-Api-Key":"` + tok + `"}}]}`,
	} {
		d, err := e.EvaluateBody(Input{Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		if classes, _ := d.Header(); classes != "secret" {
			t.Errorf("%.120s: classes %q, want secret", body, classes)
		}
	}
	d, err := e.EvaluateBody(Input{Body: []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":{"primary_key":"` + strings.Repeat("the customer record ", 5) + `"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if classes, _ := d.Header(); classes != "" {
		t.Errorf("prose under a key's name: classes %q, want none", classes)
	}
}

// TestContextWordAcrossSeam: a bare number is a value only after its
// context word ("SSN", "MRN", "phone"); with the word ending one message
// and the number starting the next, neither text held the value and the
// seam took it for found in the second, so it was sent. It is now found,
// and fixed (the word cannot be redacted with it), so a redacting request
// stays home.
func TestContextWordAcrossSeam(t *testing.T) {
	e := testEngine(t)
	for _, c := range []struct {
		parts []string
		class string
	}{
		{[]string{"my ssn", "is 078051120"}, "national_id"},
		{[]string{"patient MRN", "00123456"}, "medical_id"},
		{[]string{"reach me on my phone", "4155552671 after six"}, "phone"},
	} {
		d, err := e.EvaluateBody(Input{Body: partsBody(t, c.parts...), Policies: []string{"redact"}})
		if err != nil {
			t.Fatal(err)
		}
		if classes, _ := d.Header(); classes != c.class || d.Action != ActionSelfHostedOnly {
			t.Errorf("%q: classes %q action %v, want %s kept home", c.parts, classes, d.Action, c.class)
		}
	}
	d, err := e.EvaluateBody(Input{Body: partsBody(t, "order", "4155552671 shipped"), Policies: []string{"redact"}})
	if err != nil {
		t.Fatal(err)
	}
	if classes, _ := d.Header(); classes != "" {
		t.Errorf("an order number after a seam: classes %q, want none", classes)
	}
}
