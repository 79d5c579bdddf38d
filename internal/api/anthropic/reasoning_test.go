package anthropic

import (
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// thinking.display "omitted" (what Claude Code asks for) keeps the thinking
// block and its signature but not its text, streamed and not.
func TestOmitThinking(t *testing.T) {
	e := NewStreamEncoder("msg_1", "qwen3")
	e.OmitThinking()
	b := e.Append(nil, &llm.Chunk{Role: llm.RoleAssistant, Reasoning: "secret plan"})
	b = e.Append(b, &llm.Chunk{Signature: "sig"})
	b = e.Append(b, &llm.Chunk{Text: "pong"})
	s := string(e.Done(b))
	if strings.Contains(s, "secret plan") || !strings.Contains(s, `"content_block":{"type":"thinking","thinking":"","signature":""}`) ||
		!strings.Contains(s, `"signature_delta","signature":"sig"`) || !strings.Contains(s, `"text_delta","text":"pong"`) {
		t.Errorf("stream:\n%s", s)
	}

	resp := &llm.ChatResponse{ID: "x", Choices: []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant,
		Thoughts: []llm.Thought{{Text: "secret plan", Signature: "sig"}}, Content: []llm.Part{{Type: llm.PartText, Text: "pong"}}}}}}
	out, err := EncodeMessagesResponse(OmitThinking(resp))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "secret plan") || !strings.Contains(string(out), `{"type":"thinking","thinking":"","signature":"sig"}`) {
		t.Errorf("message: %s", out)
	}
	if resp.Choices[0].Message.Thoughts[0].Text != "secret plan" {
		t.Error("OmitThinking changed its argument")
	}
}
