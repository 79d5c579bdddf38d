package anthropic

import (
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// TestRedactedThinkingStreams: a streamed redacted_thinking block (whole
// in its content_block_start) becomes a chunk carrying its data, and such
// a chunk is encoded back as the same block, between the thinking and
// the text. Before, it was dropped both ways, and a client (or the
// gateway, for a Chat Completions client) could not send it back before
// a tool use, which Claude requires.
func TestRedactedThinkingStreams(t *testing.T) {
	d := NewStreamDecoder()
	var got []llm.Chunk
	for _, ev := range [][2]string{
		{"message_start", `{"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5","usage":{"input_tokens":3,"output_tokens":0}}}`},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":0}`},
	} {
		chunks, _, err := d.Process(ev[0], []byte(ev[1]))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, chunks...)
	}
	if len(got) != 2 || got[1].Redacted != "EmwKAhgBEgy3va3pzix" {
		t.Fatalf("chunks %+v, want the redacted data", got)
	}

	e := NewStreamEncoder("chatcmpl-1", "claude-sonnet-4-5")
	var b []byte
	for _, c := range []llm.Chunk{{Role: llm.RoleAssistant}, {Reasoning: "hmm", Signature: "sig"}, {Redacted: "EmwKAhgBEgy3va3pzix"}, {Text: "hi"}, {FinishReason: "stop"}} {
		b = e.Append(b, &c)
	}
	b = e.Done(b)
	out := string(b)
	block := `"index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}}`
	if !strings.Contains(out, block) || !strings.Contains(out, `"type":"content_block_stop","index":1}`) ||
		!strings.Contains(out, `"index":2,"content_block":{"type":"text"`) {
		t.Errorf("stream lacks the redacted_thinking block at index 1:\n%s", out)
	}
}
