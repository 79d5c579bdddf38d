package telemetry

import (
	"encoding/json"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// maxContentBytes bounds each content attribute: collectors and backends
// drop or truncate larger attribute values anyway, and a span must not
// hold a 20 MiB prompt in memory until it is exported.
const maxContentBytes = 32 << 10

// The content attributes' shape (gen_ai.input.messages,
// gen_ai.output.messages): a JSON array of messages, each a role and
// parts, as the conventions define it
// (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-input-messages.json).
type message struct {
	Role         string `json:"role"`
	Parts        []part `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

type part struct {
	Type      string `json:"type"`
	Content   string `json:"content,omitempty"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
	Response  string `json:"response,omitempty"`
}

func parts(m *llm.Message) []part {
	var out []part
	for _, p := range m.Content {
		switch p.Type {
		case llm.PartText:
			if m.Role == llm.RoleTool {
				out = append(out, part{Type: "tool_call_response", ID: m.ToolCallID, Response: p.Text})
			} else {
				out = append(out, part{Type: "text", Content: p.Text})
			}
		default:
			// Images are not exported: only their kind.
			out = append(out, part{Type: string(p.Type)})
		}
	}
	for _, tc := range m.ToolCalls {
		out = append(out, part{Type: "tool_call", ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
	}
	return out
}

func encodeMessages(msgs []message) string {
	b, err := json.Marshal(msgs)
	if err != nil {
		return ""
	}
	if len(b) > maxContentBytes {
		// Cut at a byte bound and say so: the value is then not valid
		// JSON, which a reader sees at once.
		return string(b[:maxContentBytes]) + "…[truncated]"
	}
	return string(b)
}

// Input records the request's messages (the forwarded, policy-cleared
// form: the caller passes the request decoded from the body that was
// sent upstream) as gen_ai.input.messages.
func (s *Span) Input(msgs []llm.Message) {
	if !s.Recording() {
		return
	}
	out := make([]message, 0, len(msgs))
	for i := range msgs {
		out = append(out, message{Role: string(msgs[i].Role), Parts: parts(&msgs[i])})
	}
	s.input = encodeMessages(out)
}

// Output records the upstream's answer, before any redacted value was
// restored into it, as gen_ai.output.messages.
func (s *Span) Output(choices []llm.Choice) {
	if !s.Recording() {
		return
	}
	out := make([]message, 0, len(choices))
	for i := range choices {
		out = append(out, message{Role: "assistant", Parts: parts(&choices[i].Message), FinishReason: choices[i].FinishReason})
	}
	s.output = encodeMessages(out)
}

// OutputText records a streamed answer's text.
func (s *Span) OutputText(text, finish string) {
	if !s.Recording() {
		return
	}
	m := message{Role: "assistant", FinishReason: finish}
	if text != "" {
		m.Parts = []part{{Type: "text", Content: text}}
	}
	s.output = encodeMessages([]message{m})
}

// Withheld notes that content capture is on but this request's content
// was not exported (policy found sensitive data it did not redact).
func (s *Span) Withheld() {
	if !s.Recording() {
		return
	}
	s.flag |= flagWithheld
}
