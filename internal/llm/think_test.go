package llm

import (
	"strings"
	"testing"
)

func TestSplitThink(t *testing.T) {
	for _, tc := range []struct{ in, reasoning, answer string }{
		{"<think>\nweigh 9.11 and 9.8\n</think>\n\n9.8 is greater.", "weigh 9.11 and 9.8", "9.8 is greater."},
		{"no tags at all", "", "no tags at all"},
		{"\n<think>x</think>y", "x", "y"},
		{"<think>unfinished", "unfinished", ""},
		{"a < b and <thin", "", "a < b and <thin"},
		{"<think>a</thinker", "a</thinker", ""},
		{"<think></think>answer", "", "answer"},
	} {
		r, a := SplitThink(tc.in)
		if r != tc.reasoning || a != tc.answer {
			t.Errorf("SplitThink(%q) = %q, %q; want %q, %q", tc.in, r, a, tc.reasoning, tc.answer)
		}
	}
}

// TestThinkSplitterChunks cuts the same content at every byte and checks
// the streamed split equals the whole one: tags cut across chunks are
// recognised, and nothing is lost or duplicated.
func TestThinkSplitterChunks(t *testing.T) {
	const in = "<think>\nThe user wants pong.</think>\n\npong <b>bold</b>"
	wantR, wantA := SplitThink(in)
	if wantR != "The user wants pong." || wantA != "pong <b>bold</b>" {
		t.Fatalf("whole split = %q, %q", wantR, wantA)
	}
	for size := 1; size <= len(in); size++ {
		var s ThinkSplitter
		var r, a strings.Builder
		for i := 0; i < len(in); i += size {
			x, y := s.Split(in[i:min(i+size, len(in))])
			r.WriteString(x)
			a.WriteString(y)
		}
		x, y := s.Flush()
		r.WriteString(x)
		a.WriteString(y)
		if r.String() != wantR || a.String() != wantA {
			t.Errorf("chunks of %d: %q, %q; want %q, %q", size, r.String(), a.String(), wantR, wantA)
		}
	}
}
