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

// TestOutputConfigEffort: the SDKs type output_config.effort as "low" |
// "medium" | "high" | "xhigh" | "max" | null, and format as nullable too.
// "xhigh" and a null key were a 400 for every target, pass-through
// included.
func TestOutputConfigEffort(t *testing.T) {
	for _, tc := range []struct {
		config, effort string
		format         bool
	}{
		{`{"effort":"xhigh"}`, "xhigh", false},
		{`{"effort":"max"}`, "xhigh", false},
		{`{"effort":"low","format":null}`, "low", false},
		{`{"effort":null,"format":{"type":"json_schema","schema":{"type":"object"}}}`, "", true},
	} {
		req, err := DecodeMessagesRequest([]byte(`{"model":"claude-opus-4-7","max_tokens":1024,"messages":[{"role":"user","content":"Plan it."}],"output_config":` + tc.config + `}`))
		if err != nil {
			t.Errorf("%s: %v", tc.config, err)
			continue
		}
		var effort string
		if req.Reasoning != nil {
			effort = req.Reasoning.Effort
		}
		if effort != tc.effort || (req.ResponseFormat != nil) != tc.format || string(req.Extra["output_config"]) != tc.config {
			t.Errorf("%s: effort %q, format %+v, kept %s", tc.config, effort, req.ResponseFormat, req.Extra["output_config"])
		}
	}
	_, err := DecodeMessagesRequest([]byte(`{"model":"claude-opus-4-7","max_tokens":1024,"messages":[{"role":"user","content":"Plan it."}],"output_config":{"effort":"extreme"}}`))
	if e := llm.AsError(err); err == nil || e.Param != "output_config.effort" {
		t.Errorf("an unknown effort: %v, want a 400 naming output_config.effort", err)
	}
}
