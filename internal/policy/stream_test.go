package policy

import (
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/google/go-cmp/cmp"
)

// collect runs chunks through a restorer and joins text and per-index
// arguments.
func collect(r *StreamRestorer, chunks []llm.Chunk) (text string, args map[int]string, n int) {
	var b strings.Builder
	args = map[int]string{}
	emit := func(out []llm.Chunk) {
		for _, c := range out {
			n++
			b.WriteString(c.Text)
			for _, tc := range c.ToolCalls {
				args[tc.Index] += tc.Arguments
			}
		}
	}
	for i := range chunks {
		emit(r.Process(&chunks[i]))
	}
	emit(r.Flush())
	return b.String(), args, n
}

func TestStreamRestorer(t *testing.T) {
	e := testEngine(t)
	d := e.EvaluateTexts([]string{"jane@example.com and 4111 1111 1111 1111"}, nil, "redact")
	tests := []struct {
		name     string
		chunks   []llm.Chunk
		wantText string
		wantArgs map[int]string
	}{
		{"split placeholder", []llm.Chunk{{Role: llm.RoleAssistant}, {Text: "Mail [EMA"}, {Text: "IL_1"}, {Text: "] now"}, {FinishReason: "stop"}},
			"Mail jane@example.com now", map[int]string{}},
		{"bracket that is no placeholder", []llm.Chunk{{Text: "see [1] and [EMAIL"}, {Text: "_9] or [x"}, {Text: "]"}},
			"see [1] and [EMAIL_9] or [x]", map[int]string{}},
		{"held at finish", []llm.Chunk{{Text: "card [PAYMENT_C"}, {FinishReason: "length"}},
			"card [PAYMENT_C", map[int]string{}},
		{"held at end without finish", []llm.Chunk{{Text: "to [EMAIL_"}},
			"to [EMAIL_", map[int]string{}},
		{"tool args per index", []llm.Chunk{
			{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "a", Name: "send", Arguments: `{"to":"[EM`}}},
			{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "b", Name: "pay", Arguments: `{"card":"[PAYMENT_CARD`}}},
			{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `AIL_1]"}`}}},
			{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `_1]"}`}}, FinishReason: "tool_calls"},
		}, "", map[int]string{0: `{"to":"jane@example.com"}`, 1: `{"card":"4111 1111 1111 1111"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, args, _ := collect(d.NewStreamRestorer(), tt.chunks)
			if text != tt.wantText {
				t.Errorf("text = %q, want %q", text, tt.wantText)
			}
			if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStreamRestorerPassThrough(t *testing.T) {
	e := testEngine(t)
	d := e.EvaluateTexts([]string{"hello"}, nil, "redact")
	c := llm.Chunk{Text: "[EMAIL_1"}
	out := d.NewStreamRestorer().Process(&c)
	if len(out) != 1 || out[0].Text != "[EMAIL_1" {
		t.Errorf("no-redaction restorer changed the chunk: %+v", out)
	}
}

func TestStreamRestorerKeepsRoleChunk(t *testing.T) {
	e := testEngine(t)
	d := e.EvaluateTexts([]string{"jane@example.com"}, nil, "redact")
	r := d.NewStreamRestorer()
	out := r.Process(&llm.Chunk{ID: "x", Role: llm.RoleAssistant, Text: "["})
	if len(out) != 1 || out[0].Role != llm.RoleAssistant || out[0].Text != "" {
		t.Errorf("first chunk: %+v", out)
	}
	if out := r.Process(&llm.Chunk{ID: "x", Text: "EMAIL_1"}); out != nil {
		t.Errorf("fully held chunk emitted: %+v", out)
	}
	out = r.Flush()
	if len(out) != 1 || out[0].Text != "[EMAIL_1" || out[0].ID != "x" {
		t.Errorf("flush: %+v", out)
	}
}
