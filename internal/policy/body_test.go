package policy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func TestEvaluateBody(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		name     string
		body     string
		policies []string
		opaque   []string
		classes  string
		action   Action
		// gone must not appear in the forwarded body; kept must.
		gone, kept []string
	}{
		{name: "user field", body: `{"model":"m","messages":[{"role":"user","content":"hi"}],"user":"ann.leak@example.com"}`,
			classes: "email", action: ActionSelfHostedOnly},
		{name: "metadata key and value", body: `{"model":"m","metadata":{"ann.leak@example.com":"x","n":"+44 20 7946 0958"}}`,
			classes: "email,phone", action: ActionSelfHostedOnly},
		{name: "unknown nested field", body: `{"model":"m","x_extra":[{"deep":{"v":"4111 1111 1111 1111"}}]}`,
			classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "escaped in tool arguments", body: `{"messages":[{"tool_calls":[{"function":{"arguments":"{\"email\":\"ann.leak\\u0040example.com\"}"}}]}]}`,
			classes: "email", action: ActionSelfHostedOnly},
		{name: "full-width at", body: `{"content":"mail ann.leak＠example.com"}`, classes: "email", action: ActionSelfHostedOnly},
		{name: "zero-width and soft hyphen", body: "{\"content\":\"ann\u200b.le\u00adak@exam\u200dple.com\"}", classes: "email", action: ActionSelfHostedOnly},
		{name: "nbsp phone", body: "{\"content\":\"call +44\u00a020\u00a07946\u00a00958\"}", classes: "phone", action: ActionSelfHostedOnly},
		{name: "card with slashes", body: `{"content":"card 4111/1111/1111/1111"}`, classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "card with underscores", body: `{"content":"card 4111_1111_1111_1111"}`, classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "full-width digits", body: `{"content":"card ４１１１ １１１１ １１１１ １１１１"}`, classes: "payment_card", action: ActionSelfHostedOnly},
		// Decimal digits of other scripts: NFKC keeps them, a model reads
		// them as the number they spell.
		{name: "arabic-indic digits", body: `{"content":"card ٤١١١ ١١١١ ١١١١ ١١١١"}`, classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "persian digits", body: `{"content":"card ۴۱۱۱۱۱۱۱۱۱۱۱۱۱۱۱"}`, classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "devanagari digits", body: `{"content":"SSN ०७८-०५-११२०"}`, classes: "national_id", action: ActionSelfHostedOnly},
		{name: "mixed scripts", body: `{"content":"iban DE89 ३७०४ 0044 ٠٥٣٢ 0130 00"}`, classes: "iban", action: ActionSelfHostedOnly},
		{name: "redact arabic-indic digits", policies: []string{"redact"}, body: `{"content":"card ٤١١١ ١١١١ ١١١١ ١١١١ ok"}`,
			classes: "payment_card", action: ActionRedact, gone: []string{"١١١١"}, kept: []string{`"card [PAYMENT_CARD_1] ok"`}},
		// A value split across two texts the model reads as one (content
		// parts, consecutive messages) is found at the seam; it cannot be
		// redacted in one piece, so redact keeps it home.
		{name: "card split across parts", body: `{"messages":[{"role":"user","content":[{"type":"text","text":"card 4111 1111 "},{"type":"text","text":"1111 1111 please"}]}]}`,
			classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "card split across messages", body: `{"messages":[{"role":"user","content":"my card is 4111 1111"},{"role":"user","content":"1111 1111"}]}`,
			classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "email split across anthropic blocks", body: `{"messages":[{"role":"user","content":[{"type":"text","text":"write to ann.leak@"},{"type":"text","text":"example.com today"}]}]}`,
			classes: "email", action: ActionSelfHostedOnly},
		{name: "card cut in three", body: `{"messages":[{"role":"user","content":[{"type":"text","text":"card 4111 1111 "},{"type":"text","text":"1111"},{"type":"text","text":" 1111 ok"}]}]}`,
			classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "iban split across prompt items", body: `{"prompt":["pay to DE8937040044","0532013000 today"]}`, classes: "iban", action: ActionSelfHostedOnly},
		{name: "split value under redact stays home", policies: []string{"redact"}, body: `{"messages":[{"role":"user","content":"card 4111 1111"},{"role":"user","content":"1111 1111"}]}`,
			classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "whole value in one part still redacts", policies: []string{"redact"}, body: `{"messages":[{"role":"user","content":"card 4111 1111 1111 1111"},{"role":"user","content":"thanks 42"}]}`,
			classes: "payment_card", action: ActionRedact, gone: []string{"4111"}},
		// A whole value at the end of one text, joined to the next,
		// reads as a longer value across the seam (example.comand); it
		// was found whole in its own text, so it still redacts.
		{name: "whole email at a seam still redacts", policies: []string{"redact"}, body: `{"messages":[{"role":"user","content":"mail ann.leak@example.com"},{"role":"assistant","content":"and then?"}]}`,
			classes: "email", action: ActionRedact, gone: []string{"ann.leak@"}},
		// Padding between the pieces does not push one out of the
		// window: white space is read as one character, invisible
		// characters not at all.
		{name: "card split around a text of spaces", body: `{"messages":[{"role":"user","content":[{"type":"text","text":"card 4111 1111"},{"type":"text","text":"                                                                                "},{"type":"text","text":"1111 1111"}]}]}`,
			classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "card split around many texts of spaces", body: `{"messages":[{"role":"user","content":[{"type":"text","text":"card 4111 1111"},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":" "},{"type":"text","text":"1111 1111"}]}]}`,
			classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "card split around zero-width joiners", body: "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"card 4111 1111\"},{\"type\":\"text\",\"text\":\"\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\"},{\"type\":\"text\",\"text\":\"1111 1111\"}]}]}",
			classes: "payment_card", action: ActionSelfHostedOnly},
		// A long token cut after a short prefix is read whole.
		{name: "jwt split after its header", body: `{"messages":[{"role":"user","content":[{"type":"text","text":"token eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9."},{"type":"text","text":"eyJzdWIiOiAiMTIzNDU2Nzg5MCIsICJuYW1lIjogIkpvaG4gRG9lIEV4YW1wbGUgUGVyc29uIiwgImlhdCI6IDE1MTYyMzkwMjIsICJzY29wZSI6ICJhZG1pbiByZWFkIHdyaXRlIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"}]}]}`,
			classes: "secret", action: ActionBlock},
		// A private key's header closing one text and its body opening
		// the next: redacting the header alone would send the key.
		{name: "private key split after its header stays home", policies: []string{"redact"}, body: `{"messages":[{"role":"user","content":[{"type":"text","text":"key:\n-----BEGIN PRIVATE KEY-----\n"},{"type":"text","text":"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----"}]}]}`,
			classes: "secret", action: ActionSelfHostedOnly},
		{name: "whole key block then text still redacts", policies: []string{"redact"}, body: `{"messages":[{"role":"user","content":"key:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw\n-----END PRIVATE KEY-----"},{"role":"user","content":"MIIE is how it starts"}]}`,
			classes: "secret", action: ActionRedact, gone: []string{"BEGIN"}},
		// Text copied from a URL or a web page: the escapes spell the
		// value to a model, and redaction replaces what was written.
		{name: "percent-encoded email", body: `{"content":"see https://x.test/?to=ann.leak%40example.com"}`, classes: "email", action: ActionSelfHostedOnly},
		{name: "percent-encoded card", body: `{"content":"card 4111%201111%201111%201111"}`, classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "percent-encoded phone", body: `{"content":"tel%3A%2B14155552671"}`, classes: "phone", action: ActionSelfHostedOnly},
		{name: "html decimal reference", body: `{"content":"mail ann.leak&#64;example.com"}`, classes: "email", action: ActionSelfHostedOnly},
		{name: "html hex reference", body: `{"content":"mail ann.leak&#x40;example&#x2E;com"}`, classes: "email", action: ActionSelfHostedOnly},
		{name: "html named reference", body: `{"content":"mail ann.leak&commat;example&period;com"}`, classes: "email", action: ActionSelfHostedOnly},
		{name: "escapes that spell nothing", body: `{"content":"100%25 of 50% &amp; Q&A &#; &foo; %zz"}`, action: ActionNone},
		{name: "redact percent-encoded email", policies: []string{"redact"}, body: `{"content":"to=ann.leak%40example.com&x=1"}`,
			classes: "email", action: ActionRedact, gone: []string{"ann.leak"}, kept: []string{`"to=[EMAIL_1]&x=1"`}},
		{name: "redact html-escaped email", policies: []string{"redact"}, body: `{"content":"<a>ann.leak&#64;example.com</a>"}`,
			classes: "email", action: ActionRedact, gone: []string{"ann.leak"}, kept: []string{`"<a>[EMAIL_1]</a>"`}},
		// Base64 that spells text is read: an Anthropic text document
		// sent as base64, a value encoded in prose. It cannot be redacted
		// in the encoded bytes, so redact keeps it home.
		{name: "base64 text document", body: `{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"text/plain","data":"Q29udGFjdCBhbm4ubGVha0BleGFtcGxlLmNvbSBjYXJkIDQxMTExMTExMTExMTExMTE="}}]}]}`,
			classes: "email,payment_card", action: ActionSelfHostedOnly},
		{name: "base64 in prose", body: `{"content":"decode YW5uLmxlYWtAZXhhbXBsZS5jb20= please"}`, classes: "email", action: ActionSelfHostedOnly},
		{name: "base64 url alphabet", body: `{"content":"Y2FyZCA0MTExIDExMTEgMTExMSAxMTExIG9rPz8-Pg"}`, classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "redact base64 stays home", policies: []string{"redact"}, body: `{"content":"decode YW5uLmxlYWtAZXhhbXBsZS5jb20= please"}`, classes: "email", action: ActionSelfHostedOnly},
		// A base64 run cut in two across content parts or messages is
		// read joined, as a model reads it: cut anywhere, cut in three,
		// cut after its padding (two strings each whole), cut at a space.
		{name: "base64 email split across parts", body: `{"messages":[{"role":"user","content":[{"type":"text","text":"decode YW5uLmxlYW"},{"type":"text","text":"tAZXhhbXBsZS5jb20= please"}]}]}`,
			classes: "email", action: ActionSelfHostedOnly},
		{name: "base64 card split across messages", body: `{"messages":[{"role":"user","content":"Y2FyZCA0MTExIDExMTEgMTE"},{"role":"user","content":"xMSAxMTExIHBsZWFzZQ=="}]}`,
			classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "base64 cut in three", body: `{"messages":[{"role":"user","content":[{"type":"text","text":"YW5uLm"},{"type":"text","text":"xlYWtAZX"},{"type":"text","text":"hhbXBsZS5jb20"}]}]}`,
			classes: "email", action: ActionSelfHostedOnly},
		{name: "base64 padded halves across parts", body: `{"messages":[{"role":"user","content":[{"type":"text","text":"YW5uLmxlYWtAZQ=="},{"type":"text","text":"eGFtcGxlLmNvbQ=="}]}]}`,
			classes: "email", action: ActionSelfHostedOnly},
		{name: "base64 cut at a space", body: `{"messages":[{"role":"user","content":"decode YW5uLmxlYWtAZX"},{"role":"user","content":" hhbXBsZS5jb20 please"}]}`,
			classes: "email", action: ActionSelfHostedOnly},
		{name: "redact split base64 stays home", policies: []string{"redact"}, body: `{"messages":[{"role":"user","content":"decode YW5uLmxlYW"},{"role":"user","content":"tAZXhhbXBsZS5jb20= please"}]}`,
			classes: "email", action: ActionSelfHostedOnly},
		// A sentence's full stop after a run is no JWT's '.', and a
		// zero-width character inside a run does not cut it.
		{name: "base64 before a full stop", body: `{"content":"please decode YW5uLmxlYWtAZXhhbXBsZS5jb20."}`, classes: "email", action: ActionSelfHostedOnly},
		{name: "base64 with a zero-width space inside", body: "{\"content\":\"decode YW5uLmxlYWtAZX\u200bhhbXBsZS5jb20\"}", classes: "email", action: ActionSelfHostedOnly},
		{name: "base64 of clean text split across parts", body: `{"messages":[{"role":"user","content":[{"type":"text","text":"dGhlIHdlZWtseSByZXBvcnQg"},{"type":"text","text":"aXMgcmVhZHkgZm9yIHJldmlldyBub3c="}]}]}`,
			action: ActionNone},
		{name: "long words at seams", body: `{"messages":[{"role":"user","content":"check the internationalization"},{"role":"assistant","content":"configuration_management_subsystem documentation"},{"role":"user","content":"Representatives"}]}`,
			action: ActionNone},
		{name: "base64 that spells no text", body: `{"content":"blob Bw4VHCMqMTg/Rk1UW2JpcHd+hYyTmqGor7a9xMvS2eDn7vU= and internationalization_configuration_manager"}`, action: ActionNone},
		{name: "numbers in separate fields are not joined", body: `{"messages":[{"role":"user","content":"order 4111 1111"}],"max_tokens":1111,"metadata":{"k":"1111 1111"}}`,
			action: ActionNone},
		{name: "card with double spaces", body: `{"content":"card 4111  1111  1111  1111"}`, classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "card with spaced dashes", body: `{"content":"card 4111 - 1111 - 1111 - 1111"}`, classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "card with tabs", body: `{"content":"card 4111\t1111\t1111\t1111"}`, classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "redact card with wide gaps", policies: []string{"redact"}, body: `{"content":"card 4111  1111  1111  1111 ok"}`,
			classes: "payment_card", action: ActionRedact, kept: []string{`"card [PAYMENT_CARD_1] ok"`}},
		{name: "card with dots", body: `{"content":"card 4111.1111.1111.1111"}`, classes: "payment_card", action: ActionSelfHostedOnly},
		{name: "dotted numbers that are no card", body: `{"content":"build 2024.1111.1111 at 10.12.4.7 (203.0.113.250) v1.22.3333 pi 3.1415926535897932"}`,
			classes: "ip_private", action: ActionAllow},
		{name: "digits on separate lines stay apart", body: `{"content":"4111\n1111\n1111\n1111"}`, action: ActionNone},
		{name: "image data url", body: `{"content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}`,
			classes: "image", action: ActionSelfHostedOnly},
		{name: "data prefix is text", body: `{"content":"data: ann.leak@example.com;base64,x"}`, classes: "email", action: ActionSelfHostedOnly},
		{name: "anthropic base64 pdf", body: `{"content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0x"}}]}`,
			classes: "file", action: ActionSelfHostedOnly},
		{name: "anthropic text document", body: `{"content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain words"}}]}`,
			action: ActionNone},
		{name: "clean", body: `{"model":"m","messages":[{"role":"user","content":"hello"}]}`, action: ActionNone},

		{name: "redact every field", policies: []string{"redact"},
			body:    `{"model":"m","user":"ann.leak@example.com","metadata":{"who":"ann.leak@example.com"},"stop":["ann.leak@example.com"],"messages":[{"role":"user","name":"ann.leak@example.com","content":"mail ann.leak＠example.com"}],"tools":[{"function":{"description":"writes to ann.leak@example.com"}}]}`,
			classes: "email", action: ActionRedact, gone: []string{"ann.leak@example.com", "ann.leak＠example.com"}, kept: []string{`"user":"[EMAIL_1]"`, `"model":"m"`, `"mail [EMAIL_2]"`}},
		{name: "redact escaped and nested", policies: []string{"redact"},
			body:    `{"a":"ann.leak\u0040example.com","b":"{\"e\":\"ann.leak\\u0040example.com\"}"}`,
			classes: "email", action: ActionRedact, gone: []string{"ann.leak", `\u0040`}},
		{name: "redact key", policies: []string{"redact"}, body: `{"metadata":{"ann.leak@example.com":"1"}}`,
			classes: "email", action: ActionRedact, gone: []string{"ann.leak"}, kept: []string{`{"metadata":{"[EMAIL_1]":"1"}}`}},
		{name: "redact with image keeps home", policies: []string{"redact"},
			body:    `{"user":"ann.leak@example.com","content":[{"type":"image","source":{"type":"url","url":"https://example.com/x.png"}}]}`,
			classes: "email,image", action: ActionSelfHostedOnly},
		{name: "opaque texts cannot be redacted", policies: []string{"redact"}, body: `{"input":[[1,2]]}`,
			opaque: []string{"mail ann.leak@example.com"}, classes: "email", action: ActionSelfHostedOnly},
		{name: "strictest of two policies", policies: []string{"redact", "default"}, body: `{"user":"ann.leak@example.com"}`,
			classes: "email", action: ActionSelfHostedOnly},
		{name: "strictest keeps allow when both allow", policies: []string{"eu", "redact"}, body: `{"x":"10.1.2.3"}`,
			classes: "ip_private", action: ActionAllow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.EvaluateBody(Input{Body: []byte(tt.body), Policies: tt.policies, Opaque: tt.opaque})
			if err != nil {
				t.Fatal(err)
			}
			if classes, _ := d.Header(); classes != tt.classes || d.Action != tt.action {
				t.Errorf("classes %q action %v, want %q %v", classes, d.Action, tt.classes, tt.action)
			}
			out := string(d.Body())
			if d.Action != ActionRedact && out != tt.body {
				t.Errorf("body changed without redaction: %s", out)
			}
			for _, g := range tt.gone {
				if strings.Contains(out, g) {
					t.Errorf("forwarded body still holds %q: %s", g, out)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(out, k) {
					t.Errorf("forwarded body lacks %q: %s", k, out)
				}
			}
		})
	}
}

func TestEvaluateBodyRefuses(t *testing.T) {
	e := testEngine(t)
	for _, body := range []string{
		`{"role":"user","content":"mail ann.leak@example.com","Content":"hi"}`,
		`{"a":"ann.leak\u0040example.com \q"}`,
		`{"a":"\ud800"}`,
		`{"a":1}x`,
		`{"messages":[{"content":"a","content":"b"}]}`,
	} {
		_, err := e.EvaluateBody(Input{Body: []byte(body)})
		le := llm.AsError(err)
		if err == nil || le.Status != http.StatusBadRequest || le.Type != llm.ErrInvalidRequest {
			t.Errorf("EvaluateBody(%s) = %v, want a 400 invalid_request_error", body, err)
		}
	}
}

func TestRedactedBodyRestores(t *testing.T) {
	e := testEngine(t)
	d, err := e.EvaluateBody(Input{Body: []byte(`{"messages":[{"content":"write to ann.leak＠example.com"}]}`), Policies: []string{"redact"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.RestoreText("Sent to [EMAIL_1]."); got != "Sent to ann.leak＠example.com." {
		t.Fatalf("restored %q", got)
	}
}

// TestPlaceholdersTheClientWrote: a placeholder already in the request
// (typed by the client, or left by an earlier redaction in a stored
// conversation's history, possibly escaped) is not given to a value of
// this request: an answer repeating it gets no value restored there.
// Before, the client's own "[EMAIL_1]" and the redacted address were the
// same placeholder upstream, and both came back as the address.
func TestPlaceholdersTheClientWrote(t *testing.T) {
	e := testEngine(t)
	body := `{"input":[{"role":"user","content":"earlier: [EMAIL_1] and [PHONE_2]"},{"role":"user","content":"now mail bob.new@example.com, not \u005bEMAIL_2] or [EMAIL_x]"}]}`
	d, err := e.EvaluateBody(Input{Body: []byte(body), Policies: []string{"redact"}})
	if err != nil {
		t.Fatal(err)
	}
	if out := string(d.Body()); !strings.Contains(out, `"now mail [EMAIL_3], not [EMAIL_2] or [EMAIL_x]"`) || !strings.Contains(out, `"earlier: [EMAIL_1] and [PHONE_2]"`) {
		t.Fatalf("forwarded %s", out)
	}
	if got := d.RestoreText("[EMAIL_1], [EMAIL_2], [EMAIL_3]"); got != "[EMAIL_1], [EMAIL_2], bob.new@example.com" {
		t.Errorf("restored %q", got)
	}
}

func TestEvaluateBodyNumbersAndKeys(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		name, body, classes string
		action              Action
		gone                string
	}{
		{"card as a number", `{"x_account":4111111111111111}`, "payment_card", ActionSelfHostedOnly, ""},
		{"phone behind its key", `{"metadata":{"phone":"4155552671"}}`, "phone", ActionSelfHostedOnly, ""},
		{"mrn behind its key", `{"metadata":{"mrn":49011834}}`, "medical_id", ActionSelfHostedOnly, ""},
		{"redacted number becomes a string", `{"x_account":4111111111111111,"n":1}`, "payment_card", ActionRedact, "4111111111111111"},
		// What real coding agents send on every request (Codex 0.169,
		// Claude Code 2.1): none of it is anyone's data.
		{"agent cache key uuid", `{"prompt_cache_key":"01a23802-0bad-7043-a1c1-ec1e6b3a7f60"}`, "", ActionNone, ""},
		{"agent no-reply address", `{"system":[{"type":"text","text":"Co-Authored-By: Claude <noreply@anthropic.com>"}]}`, "", ActionNone, ""},
		{"schema property named image_url", `{"tools":[{"type":"function","parameters":{"type":"object","properties":{"image_url":{"type":"string"}}}}]}`, "", ActionNone, ""},
		{"image_url field is an image", `{"input":[{"role":"user","content":[{"image_url":"https://img.example/x.png"}]}]}`, "image", ActionSelfHostedOnly, ""},
		{"a real key is still a secret", `{"metadata":{"api_key":"sk_live_4eC39HqLyjWDarjtT1zdp7dc"}}`, "secret", ActionBlock, ""},
		{"personal address still found", `{"metadata":{"to":"noreply.ann@example.com"}}`, "email", ActionSelfHostedOnly, ""},
		{"ordinary numbers", `{"max_tokens":1024,"temperature":0.2,"seed":42,"metadata":{"build":"2025.11.3"}}`, "", ActionNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pol []string
			if tt.action == ActionRedact {
				pol = []string{"redact"}
			}
			d, err := e.EvaluateBody(Input{Body: []byte(tt.body), Policies: pol})
			if err != nil {
				t.Fatal(err)
			}
			if c, _ := d.Header(); c != tt.classes || d.Action != tt.action {
				t.Errorf("classes %q action %v, want %q %v", c, d.Action, tt.classes, tt.action)
			}
			if tt.gone != "" && strings.Contains(string(d.Body()), tt.gone) {
				t.Errorf("forwarded body holds %q: %s", tt.gone, d.Body())
			}
		})
	}
}
