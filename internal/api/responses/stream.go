package responses

import (
	"encoding/json"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// StreamEncoder turns one canonical chunk stream into the Responses event
// stream: response.created and response.in_progress first; for each output
// item response.output_item.added, its deltas (response.reasoning_text.delta,
// response.content_part.added + response.output_text.delta,
// response.function_call_arguments.delta), their .done events and
// response.output_item.done; then response.completed (or
// response.incomplete). Fail ends a cut stream with error and
// response.failed. Every event carries a sequence_number.
type StreamEncoder struct {
	r       *Request
	o       *response
	seq     int
	started bool
	done    bool
	// the open items
	reasoning *reasoningItem
	rsIndex   int
	message   *messageItem
	msgIndex  int
	calls     map[int]*openCall // by chunk tool-call index
	order     []int
	finish    string
}

type openCall struct {
	item  *functionCallItem
	index int // output_index
}

// NewStreamEncoder starts the event stream of one response.
func (r *Request) NewStreamEncoder(m *Meta) *StreamEncoder {
	return &StreamEncoder{r: r, o: r.shell(m, "in_progress")}
}

func (e *StreamEncoder) event(b []byte, typ string, fields map[string]any) []byte {
	fields["type"] = typ
	fields["sequence_number"] = e.seq
	e.seq++
	data, err := json.Marshal(fields)
	if err != nil { // unreachable: the fields are plain values
		data = []byte(`{"type":"error","message":"encoding failed"}`)
	}
	return sse.AppendEvent(b, typ, data)
}

func (e *StreamEncoder) start(b []byte) []byte {
	if e.started {
		return b
	}
	e.started = true
	b = e.event(b, "response.created", map[string]any{"response": e.o})
	return e.event(b, "response.in_progress", map[string]any{"response": e.o})
}

// Append converts one chunk.
func (e *StreamEncoder) Append(b []byte, c *llm.Chunk) []byte {
	if e.done {
		return b
	}
	b = e.start(b)
	if c.Model != "" && e.o.Model == "" {
		e.o.Model = c.Model
	}
	if c.Reasoning != "" || c.Signature != "" {
		b = e.closeMessage(b)
		if e.reasoning == nil {
			e.rsIndex = len(e.o.Output)
			e.reasoning = &reasoningItem{Type: "reasoning", ID: itemID("rs", e.o.ID, e.rsIndex), Summary: []reasoningText{}}
			e.o.Output = append(e.o.Output, e.reasoning)
			b = e.event(b, "response.output_item.added", map[string]any{"output_index": e.rsIndex, "item": e.reasoning})
		}
		if c.Reasoning != "" {
			if len(e.reasoning.Content) == 0 {
				e.reasoning.Content = []reasoningText{{Type: "reasoning_text"}}
			}
			e.reasoning.Content[0].Text += c.Reasoning
			b = e.event(b, "response.reasoning_text.delta", map[string]any{"item_id": e.reasoning.ID, "output_index": e.rsIndex, "content_index": 0, "delta": c.Reasoning})
		}
		if c.Signature != "" {
			if e.r.Encrypted {
				sig := c.Signature
				e.reasoning.EncryptedContent = &sig
			}
			b = e.closeReasoning(b)
		}
	}
	if c.Text != "" {
		b = e.closeReasoning(b)
		if e.message == nil {
			e.msgIndex = len(e.o.Output)
			e.message = &messageItem{Type: "message", ID: itemID("msg", e.o.ID, e.msgIndex), Status: "in_progress", Role: "assistant", Content: []outputText{}}
			e.o.Output = append(e.o.Output, e.message)
			b = e.event(b, "response.output_item.added", map[string]any{"output_index": e.msgIndex, "item": e.message})
			e.message.Content = append(e.message.Content, newOutputText(""))
			b = e.event(b, "response.content_part.added", map[string]any{"item_id": e.message.ID, "output_index": e.msgIndex, "content_index": 0, "part": newOutputText("")})
		}
		e.message.Content[0].Text += c.Text
		b = e.event(b, "response.output_text.delta", map[string]any{"item_id": e.message.ID, "output_index": e.msgIndex, "content_index": 0, "delta": c.Text, "logprobs": []any{}})
	}
	for i := range c.ToolCalls {
		d := &c.ToolCalls[i]
		b = e.closeReasoning(b)
		b = e.closeMessage(b)
		oc := e.calls[d.Index]
		if oc == nil {
			if e.calls == nil {
				e.calls = map[int]*openCall{}
			}
			name, ns := e.r.toolName(d.Name)
			oc = &openCall{index: len(e.o.Output), item: &functionCallItem{Type: "function_call", Status: "in_progress", CallID: d.ID, Name: name, Namespace: ns}}
			oc.item.ID = itemID("fc", e.o.ID, oc.index)
			e.calls[d.Index] = oc
			e.order = append(e.order, d.Index)
			e.o.Output = append(e.o.Output, oc.item)
			b = e.event(b, "response.output_item.added", map[string]any{"output_index": oc.index, "item": oc.item})
		}
		if d.Arguments != "" {
			oc.item.Arguments += d.Arguments
			b = e.event(b, "response.function_call_arguments.delta", map[string]any{"item_id": oc.item.ID, "output_index": oc.index, "delta": d.Arguments})
		}
	}
	if c.FinishReason != "" {
		e.finish = c.FinishReason
	}
	if c.Usage != nil {
		e.o.Usage = wireUsage(c.Usage)
	}
	return b
}

func (e *StreamEncoder) closeReasoning(b []byte) []byte {
	it := e.reasoning
	if it == nil {
		return b
	}
	e.reasoning = nil
	if len(it.Content) > 0 {
		b = e.event(b, "response.reasoning_text.done", map[string]any{"item_id": it.ID, "output_index": e.rsIndex, "content_index": 0, "text": it.Content[0].Text})
	}
	return e.event(b, "response.output_item.done", map[string]any{"output_index": e.rsIndex, "item": it})
}

func (e *StreamEncoder) closeMessage(b []byte) []byte {
	it := e.message
	if it == nil {
		return b
	}
	e.message = nil
	it.Status = itemStatus(e.finish)
	part := it.Content[0]
	b = e.event(b, "response.output_text.done", map[string]any{"item_id": it.ID, "output_index": e.msgIndex, "content_index": 0, "text": part.Text, "logprobs": []any{}})
	b = e.event(b, "response.content_part.done", map[string]any{"item_id": it.ID, "output_index": e.msgIndex, "content_index": 0, "part": part})
	return e.event(b, "response.output_item.done", map[string]any{"output_index": e.msgIndex, "item": it})
}

func (e *StreamEncoder) closeCalls(b []byte) []byte {
	for _, idx := range e.order {
		oc := e.calls[idx]
		oc.item.Status = itemStatus(e.finish)
		b = e.event(b, "response.function_call_arguments.done", map[string]any{"item_id": oc.item.ID, "output_index": oc.index, "name": oc.item.Name, "arguments": oc.item.Arguments})
		b = e.event(b, "response.output_item.done", map[string]any{"output_index": oc.index, "item": oc.item})
	}
	e.order = nil
	return b
}

// Done closes the open items and appends response.completed (or
// response.incomplete when the answer was cut by max_output_tokens or a
// content filter).
func (e *StreamEncoder) Done(b []byte) []byte {
	if e.done {
		return b
	}
	b = e.start(b)
	b = e.closeReasoning(b)
	b = e.closeMessage(b)
	b = e.closeCalls(b)
	e.done = true
	e.o.finish(e.finish)
	typ := "response.completed"
	if e.o.Status == "incomplete" {
		typ = "response.incomplete"
	}
	return e.event(b, typ, map[string]any{"response": e.o})
}

// Fail ends a stream that broke after it started: an error event, then
// response.failed with the error in the Response object.
func (e *StreamEncoder) Fail(b []byte, err *llm.Error) []byte {
	if e.done {
		return b
	}
	b = e.start(b)
	e.done = true
	code := errorCode(err)
	var param any
	if err.Param != "" {
		param = err.Param
	}
	b = e.event(b, "error", map[string]any{"code": code, "message": err.Message, "param": param})
	e.o.Status = "failed"
	e.o.Error = &errorObject{Code: code, Message: err.Message}
	return e.event(b, "response.failed", map[string]any{"response": e.o})
}

func errorCode(e *llm.Error) string {
	if e.Code != "" {
		return e.Code
	}
	switch e.Status {
	case 429:
		return "rate_limit_exceeded"
	case 499:
		return "client_closed_request"
	}
	return "server_error"
}
