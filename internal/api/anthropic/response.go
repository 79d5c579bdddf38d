package anthropic

import (
	"encoding/json"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// MessageID returns an Anthropic-style id ("msg_...") for a canonical id.
func MessageID(id string) string {
	if strings.HasPrefix(id, "msg_") {
		return id
	}
	return "msg_" + strings.TrimPrefix(id, "chatcmpl-")
}

// EncodeMessagesResponse encodes a canonical answer as an Anthropic Message
// for a client of Fulcrum's /v1/messages. Only the first choice is used
// (Anthropic has no n). Tool call arguments must be JSON objects.
func EncodeMessagesResponse(resp *llm.ChatResponse) ([]byte, error) {
	w := wireResponse{
		ID:      MessageID(resp.ID),
		Type:    "message",
		Role:    "assistant",
		Model:   resp.Model,
		Content: []wireBlock{},
	}
	finish := llm.FinishStop
	if len(resp.Choices) > 0 {
		c := &resp.Choices[0]
		if c.FinishReason != "" {
			finish = c.FinishReason
		}
		w.Content = append(answerThoughts(c.Message.Thoughts), contentBlocks(c.Message.Content)...)
		for j, tc := range c.Message.ToolCalls {
			input, err := toolInput(tc.Arguments)
			if err != nil {
				return nil, &llm.Error{Status: 502, Type: llm.ErrUpstream, Code: "invalid_tool_arguments",
					Message: "the model returned tool call arguments that are not a JSON object", Err: err}
			}
			id := tc.ID
			if id == "" {
				id = toolUseID(w.ID, j)
			}
			w.Content = append(w.Content, wireBlock{Type: "tool_use", ID: id, Name: tc.Name, Input: input})
		}
	}
	sr := stopReason(finish, resp.StopSequence)
	w.StopReason = &sr
	if sr == "stop_sequence" {
		w.StopSequence = &resp.StopSequence
	}
	var u llm.Usage
	if resp.Usage != nil {
		u = *resp.Usage
	}
	in := anthropicInput(&u)
	w.Usage = wireUsage{InputTokens: &in, CacheCreationInputTokens: &u.CacheWriteTokens,
		CacheReadInputTokens: &u.CacheReadTokens, OutputTokens: &u.OutputTokens}
	return json.Marshal(&w)
}

// OmitThinking returns resp with the text of its thoughts left out (their
// signatures kept), as Anthropic answers a request with thinking.display
// "omitted". resp itself is not changed.
func OmitThinking(resp *llm.ChatResponse) *llm.ChatResponse {
	out := *resp
	out.Choices = make([]llm.Choice, len(resp.Choices))
	for i, c := range resp.Choices {
		if len(c.Message.Thoughts) > 0 {
			ts := make([]llm.Thought, len(c.Message.Thoughts))
			for j, t := range c.Message.Thoughts {
				ts[j] = llm.Thought{Signature: t.Signature, Redacted: t.Redacted}
			}
			c.Message.Thoughts = ts
		}
		out.Choices[i] = c
	}
	return &out
}

// answerThoughts are an answer's thinking blocks. A thought from another
// provider has no signature; the block carries an empty one, which
// Anthropic's clients accept (they only send it back), and which Fulcrum
// never forwards to Anthropic (see thoughtBlocks).
func answerThoughts(ts []llm.Thought) []wireBlock {
	var out []wireBlock
	for _, t := range ts {
		if t.Redacted != "" {
			out = append(out, wireBlock{Type: "redacted_thinking", Data: t.Redacted})
			continue
		}
		text, sig := t.Text, t.Signature
		out = append(out, wireBlock{Type: "thinking", Thinking: &text, Signature: &sig})
	}
	return out
}

// toolUseID makes an id for a tool call whose upstream gave none.
func toolUseID(msgID string, i int) string {
	b := make([]byte, 0, len(msgID)+12)
	b = append(b, "toolu_"...)
	b = append(b, strings.TrimPrefix(msgID, "msg_")...)
	b = append(b, '_')
	b = appendInt(b, int64(i))
	return string(b)
}

// DecodeMessagesResponse decodes an upstream Anthropic Message into the
// canonical answer. Thinking and redacted_thinking blocks become the
// message's Thoughts; server-tool blocks are skipped (the canonical model
// has no place for them).
func DecodeMessagesResponse(body []byte) (*llm.ChatResponse, error) {
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, malformed(err)
	}
	if w.Type == "error" {
		return nil, errorFromBody(body)
	}
	msg := llm.Message{Role: llm.RoleAssistant}
	for _, b := range w.Content {
		switch b.Type {
		case "text":
			msg.Content = append(msg.Content, llm.Part{Type: llm.PartText, Text: b.Text})
		case "tool_use":
			args := "{}"
			if present(b.Input) {
				args = string(b.Input)
			}
			msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		case "thinking":
			msg.Thoughts = append(msg.Thoughts, llm.Thought{Text: thinkingText(&b), Signature: signature(&b)})
		case "redacted_thinking":
			msg.Thoughts = append(msg.Thoughts, llm.Thought{Redacted: b.Data})
		}
	}
	resp := &llm.ChatResponse{
		ID:      w.ID,
		Model:   w.Model,
		Choices: []llm.Choice{{Message: msg}},
		Usage:   canonicalUsage(&w.Usage),
	}
	if w.StopReason != nil {
		resp.Choices[0].FinishReason = finishReason(*w.StopReason)
	}
	if w.StopSequence != nil {
		resp.StopSequence = *w.StopSequence
	}
	return resp, nil
}

// malformed is the error for an upstream body that is not the documented
// JSON.
func malformed(err error) *llm.Error {
	return &llm.Error{Status: 502, Type: llm.ErrUpstream, Code: "upstream_malformed",
		Message: "upstream anthropic returned a malformed response", Provider: providerName, Err: err}
}
