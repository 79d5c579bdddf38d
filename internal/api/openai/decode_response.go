package openai

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// DecodeChatResponse decodes an upstream's chat.completion object. A body
// that is not one fails with a 502 *llm.Error (code bad_upstream_response).
func DecodeChatResponse(body []byte) (*llm.ChatResponse, error) {
	var w chatResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, badUpstream("upstream returned a malformed chat completion", err)
	}
	if w.Error != nil {
		return nil, upstreamError(w.Error)
	}
	if w.Choices == nil {
		return nil, badUpstream("upstream chat completion has no choices", nil)
	}
	resp := &llm.ChatResponse{
		ID:                w.ID,
		Model:             w.Model,
		Created:           w.Created,
		Choices:           make([]llm.Choice, len(w.Choices)),
		Usage:             w.Usage.canonical(),
		SystemFingerprint: w.SystemFingerprint,
	}
	for i := range w.Choices {
		c := &w.Choices[i]
		m := &c.Message
		out := &resp.Choices[i]
		out.Index = c.Index
		out.FinishReason = finishReason(c.FinishReason)
		if i == 0 {
			resp.StopSequence = c.stopSequence()
		}
		out.Message.Role = llm.RoleAssistant
		if r := m.reasoningText(); r != "" {
			out.Message.Thoughts = []llm.Thought{{Text: r}}
		}
		if text := responseText(m); text != "" || len(m.ToolCalls) == 0 {
			out.Message.Content = []llm.Part{{Type: llm.PartText, Text: text}}
		}
		if len(m.ToolCalls) > 0 {
			out.Message.ToolCalls = make([]llm.ToolCall, len(m.ToolCalls))
			for j, tc := range m.ToolCalls {
				out.Message.ToolCalls[j] = llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments}
			}
		}
	}
	return resp, nil
}

// responseText is an answer's text: its content (a string, or text parts
// from servers that answer in parts), else its refusal.
func responseText(m *message) string {
	var text string
	if m.Content.isString {
		text = m.Content.str
	} else {
		for _, p := range m.Content.parts {
			if p.Type == "text" {
				text += p.Text
			}
		}
	}
	if text == "" && m.Refusal != nil {
		text = *m.Refusal
	}
	return text
}

// finishReason maps the deprecated "function_call" onto "tool_calls";
// every other value is OpenAI's vocabulary already or passed through.
func finishReason(r string) string {
	if r == "function_call" {
		return llm.FinishToolCalls
	}
	return r
}

func badUpstream(msg string, err error) *llm.Error {
	return &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "bad_upstream_response", Message: msg, Err: err}
}

// upstreamError is an error object found in a 200 body or a stream.
func upstreamError(w *wireErr) *llm.Error {
	msg := w.Message
	if msg == "" {
		msg = "upstream reported an error"
	}
	typ := llm.ErrUpstream
	status := http.StatusBadGateway
	limit := ""
	switch w.Type {
	case "requests", "tokens", "rate_limit_error", "rate_limit_exceeded":
		typ, status = llm.ErrRateLimit, http.StatusTooManyRequests
		if w.Type == "tokens" {
			limit = "tokens"
		}
	case "insufficient_quota":
		typ, status = llm.ErrQuota, http.StatusTooManyRequests
	}
	return &llm.Error{Status: status, Type: typ, Code: rawText(w.Code), Message: msg, RateLimit: limit}
}

// StreamDecoder turns the data payloads of an upstream's SSE stream into
// canonical chunks. Usage is held back and emitted once, at [DONE], as the
// last usage the upstream reported: servers that report running totals on
// every chunk (vLLM's continuous_usage_stats) still meter once.
//
// Only choice 0 is converted; streams with n > 1 take the pass-through path.
// A StreamDecoder is not safe for concurrent use.
type StreamDecoder struct {
	id, model string
	started   bool
	finished  bool
	done      bool
	usage     *llm.Usage
	// tools[i] is what has been emitted of tool call i.
	tools []toolState
	// think splits <think> tags out of the text when set.
	think *llm.ThinkSplitter
}

type toolState struct {
	id    string
	named bool
}

// NewStreamDecoder returns a decoder for one stream.
func NewStreamDecoder() *StreamDecoder { return &StreamDecoder{} }

// SplitThinkTags makes the decoder read <think>...</think> in the answer
// text as reasoning (servers without a reasoning parser).
func (d *StreamDecoder) SplitThinkTags() { d.think = &llm.ThinkSplitter{} }

// SplitThinkTags moves reasoning written as <think>...</think> in each
// choice's text into its Thoughts.
func SplitThinkTags(resp *llm.ChatResponse) {
	for i := range resp.Choices {
		m := &resp.Choices[i].Message
		if len(m.Content) == 0 {
			continue
		}
		text := m.Text()
		r, a := llm.SplitThink(text)
		if r != "" {
			m.Thoughts = append(m.Thoughts, llm.Thought{Text: r})
		}
		if a == text {
			continue
		}
		m.Content = []llm.Part{{Type: llm.PartText, Text: a}}
	}
}

// Finished reports whether a finish_reason has been seen.
func (d *StreamDecoder) Finished() bool { return d.finished }

// maxToolIndex bounds tool-call indices an upstream may send, so a bad one
// cannot make the decoder allocate without limit.
const maxToolIndex = 1024

var doneData = []byte("[DONE]")

// Process converts one SSE data payload. It returns done at "[DONE]" (with
// the held usage chunk, if any), and an *llm.Error for an in-stream error
// object or a payload that is not a chunk.
func (d *StreamDecoder) Process(data []byte) (chunks []llm.Chunk, done bool, err error) {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, doneData) {
		d.done = true
		if d.usage != nil {
			chunks = append(chunks, llm.Chunk{ID: d.id, Model: d.model, Usage: d.usage})
			d.usage = nil
		}
		return chunks, true, nil
	}
	if d.done {
		return nil, true, nil
	}
	var w chatResponse
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, false, badUpstream("upstream sent a malformed stream chunk", err)
	}
	if w.Error != nil {
		return nil, false, upstreamError(w.Error)
	}
	if d.id == "" {
		d.id, d.model = w.ID, w.Model
	}
	if w.Usage != nil {
		d.usage = w.Usage.canonical()
	}
	for i := range w.Choices {
		ch := &w.Choices[i]
		if ch.Index != 0 {
			continue
		}
		c := llm.Chunk{ID: d.id, Model: d.model, FinishReason: finishReason(ch.FinishReason), StopSequence: ch.stopSequence()}
		c.Text = responseText(&ch.Delta)
		c.Reasoning = ch.Delta.reasoningText()
		if d.think != nil {
			r, t := d.think.Split(c.Text)
			if c.FinishReason != "" {
				r2, t2 := d.think.Flush()
				r, t = r+r2, t+t2
			}
			c.Reasoning += r
			c.Text = t
		}
		if len(ch.Delta.ToolCalls) > 0 {
			for _, tc := range ch.Delta.ToolCalls {
				td, err := d.toolDelta(&tc)
				if err != nil {
					return nil, false, err
				}
				if td.ID != "" || td.Name != "" || td.Arguments != "" {
					c.ToolCalls = append(c.ToolCalls, td)
				}
			}
		}
		if !d.started && (ch.Delta.Role != "" || c.Text != "" || c.Reasoning != "" || len(c.ToolCalls) > 0 || c.FinishReason != "") {
			c.Role = llm.RoleAssistant
			d.started = true
		}
		if c.FinishReason != "" {
			d.finished = true
		}
		if c.Role != "" || c.Text != "" || c.Reasoning != "" || len(c.ToolCalls) > 0 || c.FinishReason != "" {
			chunks = append(chunks, c)
		}
	}
	return chunks, false, nil
}

// toolDelta converts one tool call delta. Servers that omit "index" get
// one inferred: a new id starts the next call, no id (or the same id)
// continues the last. An id or name repeated on later deltas is dropped,
// so that downstream accumulators see them once.
func (d *StreamDecoder) toolDelta(tc *toolCall) (llm.ToolCallDelta, error) {
	n := len(d.tools)
	idx := n - 1
	switch {
	case tc.Index != nil:
		idx = *tc.Index
	case tc.ID != "" && (n == 0 || d.tools[n-1].id != tc.ID):
		idx = n
	}
	idx = max(idx, 0)
	if tc.Index != nil && *tc.Index < 0 || idx >= maxToolIndex {
		return llm.ToolCallDelta{}, badUpstream("upstream sent a tool call index out of range", nil)
	}
	for len(d.tools) <= idx {
		d.tools = append(d.tools, toolState{})
	}
	t := &d.tools[idx]
	td := llm.ToolCallDelta{Index: idx, Arguments: tc.Function.Arguments}
	if tc.ID != "" && t.id == "" {
		td.ID, t.id = tc.ID, tc.ID
	}
	if tc.Function.Name != "" && !t.named {
		td.Name, t.named = tc.Function.Name, true
	}
	return td, nil
}
