package policy

import (
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy/detect"
)

func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"mail jane@example.com or +44 20 7946 0958", "card 4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32",
		"SSN 123-45-6789", "fe80::1 10.0.0.1", "api_key = 'a8f5f167f44f4964e6c998dee827110c'", "-----BEGIN PRIVATE KEY-----\nabc",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", `{"to":"a\u0040b.co"}`, "MRN: 1234567", "(415) 555-2671",
	} {
		f.Add(s)
	}
	e, err := New(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		spans := e.Scanner().Scan(text, detect.Builtin|e.Scanner().AllCustom(), nil)
		prev := 0
		for _, s := range spans {
			if s.Start < prev || s.End <= s.Start || s.End > len(text) {
				t.Fatalf("bad span %+v (prev end %d) in %q", s, prev, text)
			}
			prev = s.End
		}
		d := e.EvaluateTexts([]string{text}, nil, "redact")
		red := d.RedactTexts([]string{text})[0]
		for _, s := range d.subs {
			if strings.Contains(red, s.value) {
				t.Fatalf("value %q survives redaction: %q", s.value, red)
			}
		}
		// Identity holds for texts that contain no placeholder-like text
		// and no escapes (JSON literals are re-encoded on redaction).
		if !strings.ContainsAny(text, `[\`) {
			if got := d.RestoreText(red); got != text {
				t.Fatalf("restore(redact(x)) = %q, want %q", got, text)
			}
		}
	})
}

func FuzzStreamRestore(f *testing.F) {
	f.Add("Write to [EMAIL_1] about card [PAYMENT_CARD_1]; cc [EMAIL_2].", uint64(12345))
	f.Add("[[[EMAIL_1]]] [PAYMENT_CARD_", uint64(7))
	e, err := New(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	d := e.EvaluateTexts([]string{"jane@example.com, bob@example.org, 4111 1111 1111 1111"}, nil, "redact")
	if d.Action != ActionRedact {
		f.Fatalf("action %v", d.Action)
	}
	f.Fuzz(func(t *testing.T, answer string, seed uint64) {
		want := d.RestoreText(answer)
		// Split answer at pseudo-random points, as text and as tool args.
		var chunks []llm.Chunk
		for rest := answer; rest != ""; {
			seed = seed*6364136223846793005 + 1442695040888963407
			n := int(seed>>33)%7 + 1
			n = min(n, len(rest))
			chunks = append(chunks, llm.Chunk{Text: rest[:n], ToolCalls: []llm.ToolCallDelta{{Index: int(seed>>40) % 2, Arguments: rest[:n]}}})
			rest = rest[n:]
		}
		r := d.NewStreamRestorer()
		text, args, _ := collect(r, chunks)
		if text != want {
			t.Fatalf("stream text %q, want %q", text, want)
		}
		// Arguments are split over two indices; each must restore as a whole.
		var in [2]strings.Builder
		for _, c := range chunks {
			in[c.ToolCalls[0].Index].WriteString(c.ToolCalls[0].Arguments)
		}
		for i := range 2 {
			if w := d.rep.restoreJSON.Replace(in[i].String()); args[i] != w {
				t.Fatalf("args[%d] = %q, want %q", i, args[i], w)
			}
		}
	})
}
