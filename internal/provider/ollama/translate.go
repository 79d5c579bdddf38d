package ollama

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// toRequest translates a canonical chat request into an Ollama /api/chat
// body. It is a pure function.
//
// Ollama cannot be told to call a tool (there is no tool_choice), so
// "required" and a named tool are refused; "none" is honoured by not
// sending the tools. n > 1 has no equivalent either, nor has a strict
// tool (refused). A final assistant message (an Anthropic client's
// prefill) is sent as it is: Ollama renders it unterminated and the model
// continues it (https://github.com/ollama/ollama/issues/6778).
func toRequest(req *llm.ChatRequest) (*chatRequest, error) {
	for _, name := range req.Unsupported {
		if !req.ReasoningParam(name) {
			return nil, llm.Unsupported(providerType, name)
		}
	}
	if req.N > 1 {
		return nil, llm.Unsupported(providerType, "n")
	}
	out := &chatRequest{Model: req.Model, Stream: req.Stream, Messages: make([]message, 0, len(req.Messages))}
	if err := toMessages(out, req.Messages); err != nil {
		return nil, err
	}
	sendTools := true
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case llm.ToolChoiceAuto, "":
		case llm.ToolChoiceNone:
			sendTools = false
		default:
			return nil, llm.Unsupported(providerType, "tool_choice")
		}
	}
	if sendTools && len(req.Tools) > 0 {
		out.Tools = make([]tool, len(req.Tools))
		for i, t := range req.Tools {
			if t.Strict != nil && *t.Strict {
				// Ollama does not constrain tool-call arguments to the
				// schema (only format constrains the text), so a strict
				// tool's guarantee cannot be given.
				e := llm.Unsupported(providerType, fmt.Sprintf("tools[%d].strict", i))
				e.Message = fmt.Sprintf("tool %q asks for strict: true (arguments that always match its schema), which provider %q cannot honour: Ollama does not constrain tool calls; send strict: false or leave it out", t.Name, providerType)
				return nil, e
			}
			out.Tools[i] = tool{Type: "function", Function: toolFunction{Name: t.Name, Description: t.Description}}
			if len(t.Parameters) > 0 && string(t.Parameters) != "null" {
				out.Tools[i].Function.Parameters = t.Parameters
			}
		}
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_object":
			out.Format = json.RawMessage(`"json"`)
		case "json_schema":
			out.Format = rf.Schema
			if len(rf.Schema) == 0 {
				out.Format = json.RawMessage(`"json"`)
			}
		default:
			return nil, llm.Errorf("response_format", "unknown response_format type %q", rf.Type)
		}
	}
	o := options{
		Temperature:      req.Temperature,
		TopP:             req.TopP,
		TopK:             req.TopK,
		Seed:             req.Seed,
		Stop:             req.Stop,
		NumPredict:       req.MaxTokens,
		PresencePenalty:  req.PresencePenalty,
		FrequencyPenalty: req.FrequencyPenalty,
	}
	if o.Temperature != nil || o.TopP != nil || o.TopK != nil || o.Seed != nil || len(o.Stop) > 0 ||
		o.NumPredict != nil || o.PresencePenalty != nil || o.FrequencyPenalty != nil {
		out.Options = &o
	}
	return out, nil
}

// toMessages converts the conversation. Ollama's content is a string, so
// text parts are joined; images go to the message's images list as bare
// base64. A tool message names its function in tool_name, found by
// scanning the assistant tool calls earlier in the request.
func toMessages(out *chatRequest, msgs []llm.Message) error {
	var names map[string]string // tool call ID -> function name
	for i := range msgs {
		// Ollama's tool messages have no error flag, and its messages no
		// author name.
		m := msgs[i].ErrorMarked().NameFolded()
		om := message{Role: string(m.Role), Content: m.Text()}
		switch m.Role {
		case llm.RoleSystem, llm.RoleUser:
			for _, p := range m.Content {
				if p.Type != llm.PartImage {
					continue
				}
				if p.Image == nil || p.Image.Data == "" {
					// Ollama does not fetch URLs.
					return llm.Errorf(fmt.Sprintf("messages[%d].content", i),
						"provider ollama does not fetch image URLs; send the image inline as a base64 data: URL")
				}
				om.Images = append(om.Images, p.Image.Data)
			}
		case llm.RoleAssistant:
			for j, tc := range m.ToolCalls {
				args := json.RawMessage(tc.Arguments)
				if strings.TrimSpace(tc.Arguments) == "" {
					args = json.RawMessage("{}")
				} else if !json.Valid(args) {
					return llm.Errorf(fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j), "arguments are not valid JSON")
				}
				om.ToolCalls = append(om.ToolCalls, toolCall{ID: tc.ID, Function: toolCallFunction{Index: j, Name: tc.Name, Arguments: args}})
				if names == nil {
					names = make(map[string]string)
				}
				names[tc.ID] = tc.Name
			}
		case llm.RoleTool:
			om.ToolCallID = m.ToolCallID
			om.ToolName = names[m.ToolCallID]
			if om.ToolName == "" {
				om.ToolName = m.Name
			}
		default:
			return llm.Errorf(fmt.Sprintf("messages[%d].role", i), "unknown role %q", m.Role)
		}
		out.Messages = append(out.Messages, om)
	}
	return nil
}

// ids makes response and tool call IDs from one generator of unique
// suffixes.
type ids struct{ next func() string }

func (g ids) response() string { return "chatcmpl-" + g.next() }
func (g ids) call() string     { return "call_" + g.next() }

// fromResponse translates a complete (stream: false) answer.
func fromResponse(r *chatResponse, now time.Time, id ids) *llm.ChatResponse {
	rid := id.response()
	msg := llm.Message{Role: llm.RoleAssistant}
	for i := range r.Message.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, toCall(&r.Message.ToolCalls[i], id))
	}
	if r.Message.Content != "" || len(msg.ToolCalls) == 0 {
		msg.Content = []llm.Part{{Type: llm.PartText, Text: r.Message.Content}}
	}
	if r.Message.Thinking != "" {
		msg.Thoughts = []llm.Thought{{Text: r.Message.Thinking}}
	}
	return &llm.ChatResponse{
		ID:      rid,
		Model:   r.Model,
		Created: created(r.CreatedAt, now),
		Choices: []llm.Choice{{Message: msg, FinishReason: finishReason(r.DoneReason, len(msg.ToolCalls) > 0)}},
		Usage:   usage(r.PromptEvalCount, r.EvalCount),
	}
}

// toCall converts one tool call, serialising the arguments object to the
// canonical JSON string. Ollama's id is kept when present.
func toCall(tc *toolCall, id ids) llm.ToolCall {
	cid := tc.ID
	if cid == "" {
		cid = id.call()
	}
	args := "{}"
	if a := tc.Function.Arguments; len(a) > 0 && string(a) != "null" {
		var b bytes.Buffer
		if json.Compact(&b, a) == nil {
			args = b.String()
		} else {
			args = string(a)
		}
	}
	return llm.ToolCall{ID: cid, Name: tc.Function.Name, Arguments: args}
}

// think is the think field for the request's reasoning
// (docs/providers/ollama.md): an explicit request (a thinking budget, an
// effort) is think: true, or the effort level for gpt-oss, which takes
// levels; disabled reasoning is think: false; a hint (Anthropic adaptive
// thinking, output_config.effort) leaves the model's default, since
// Ollama refuses think: true for a model that cannot think and a hint
// allows not thinking. With reasoning.request: none nothing is sent and
// an explicit request is refused.
func think(req *llm.ChatRequest, provider string, none bool) (json.RawMessage, error) {
	r := req.Reasoning
	switch {
	case r == nil:
		return nil, nil
	case none && r.Explicit():
		return nil, llm.Unsupported(provider, r.Param)
	case none || r.Hint && r.On():
		return nil, nil
	case !r.On():
		return json.RawMessage("false"), nil
	case strings.HasPrefix(req.Model, "gpt-oss"):
		switch e := r.EffortLevel(); e {
		case "minimal":
			return json.RawMessage(`"low"`), nil
		case "xhigh":
			return json.RawMessage(`"high"`), nil
		case "low", "medium", "high":
			return json.RawMessage(`"` + e + `"`), nil
		}
	}
	return json.RawMessage("true"), nil
}

// finishReason maps done_reason ("stop", "length", "load", "unload").
func finishReason(r string, calls bool) string {
	switch {
	case r == "length":
		return llm.FinishLength
	case calls:
		return llm.FinishToolCalls
	default:
		return llm.FinishStop
	}
}

func usage(prompt, eval *int64) *llm.Usage {
	if prompt == nil && eval == nil {
		return nil
	}
	u := &llm.Usage{}
	if prompt != nil {
		u.InputTokens = *prompt
	}
	if eval != nil {
		u.OutputTokens = *eval
	}
	return u
}

// created parses Ollama's RFC 3339 created_at, falling back to now.
func created(s string, now time.Time) int64 {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.Unix()
	}
	return now.Unix()
}
