package openai

import "github.com/fulcrumhq/fulcrum/internal/llm"

// StreamEncoder turns canonical chunks into OpenAI chat.completion.chunk
// events for one streamed answer
// (https://platform.openai.com/docs/api-reference/chat-streaming).
//
// Every event carries the same id, created and model. The first carries
// delta.role "assistant"; the first delta of each tool call carries its
// index, id, type and function name, later ones only index and argument
// text. Usage is held back and sent once, by Done, in a final chunk with
// empty choices, and only when the client asked for it: the SDKs' stream
// accumulators add usage up across chunks, so it must appear exactly once.
//
// A StreamEncoder is not safe for concurrent use.
type StreamEncoder struct {
	// prefix is `data: {"id":...,"object":...,"created":...,"model":...,` -
	// the same for every chunk, built once.
	prefix       []byte
	includeUsage bool
	started      bool
	finished     bool
	done         bool
	usage        *llm.Usage
}

// NewStreamEncoder returns an encoder for one stream. includeUsage is the
// client's stream_options.include_usage.
func NewStreamEncoder(id, model string, created int64, includeUsage bool) *StreamEncoder {
	p := make([]byte, 0, 96+len(id)+len(model))
	p = append(p, "data: {"...)
	p = appendStringField(p, "id", id)
	p = appendStringField(p, "object", "chat.completion.chunk")
	p = appendIntField(p, "created", created)
	p = appendStringField(p, "model", model)
	p = append(p, ',')
	return &StreamEncoder{prefix: p, includeUsage: includeUsage}
}

// Append appends the events for one canonical chunk to b: none when the
// chunk carries nothing to send (a usage-only chunk, say), else one.
func (e *StreamEncoder) Append(b []byte, c *llm.Chunk) []byte {
	if c.Usage != nil {
		u := *c.Usage
		e.usage = &u
	}
	if e.done || e.finished && c.FinishReason == "" {
		return b
	}
	hasDelta := c.Text != "" || c.Reasoning != "" || len(c.ToolCalls) > 0
	if e.started && !hasDelta && c.FinishReason == "" {
		return b
	}
	b = append(b, e.prefix...)
	b = append(b, `"choices":[{"index":0,"delta":{`...)
	if !e.started {
		b = appendStringField(b, "role", "assistant")
		if c.Text == "" && (len(c.ToolCalls) > 0 || c.Reasoning != "") {
			b = append(appendKey(b, "content"), "null"...)
		} else {
			b = appendStringField(b, "content", c.Text)
		}
		e.started = true
	} else if c.Text != "" {
		b = appendStringField(b, "content", c.Text)
	}
	if c.Reasoning != "" {
		b = appendStringField(b, "reasoning_content", c.Reasoning)
	}
	if len(c.ToolCalls) > 0 {
		b = append(appendKey(b, "tool_calls"), '[')
		for i := range c.ToolCalls {
			tc := &c.ToolCalls[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendIntField(b, "index", int64(tc.Index))
			if tc.ID != "" {
				b = appendStringField(b, "id", tc.ID)
				b = appendStringField(b, "type", "function")
			}
			b = append(appendKey(b, "function"), '{')
			if tc.Name != "" {
				b = appendStringField(b, "name", tc.Name)
			}
			b = appendStringField(b, "arguments", tc.Arguments)
			b = append(b, '}', '}')
		}
		b = append(b, ']')
	}
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	b = appendFinish(b, c.FinishReason)
	if c.FinishReason != "" {
		e.finished = true
	}
	b = append(b, "}]"...)
	if e.includeUsage {
		// With include_usage OpenAI sends "usage": null on every chunk
		// but the last.
		b = append(b, `,"usage":null`...)
	}
	return append(b, "}\n\n"...)
}

// Done appends the usage chunk (when the client asked for usage and it is
// known) and the terminating data: [DONE]. Later calls append nothing.
func (e *StreamEncoder) Done(b []byte) []byte {
	if e.done {
		return b
	}
	if !e.started {
		// An answer with no content at all still opens with the role.
		b = e.Append(b, &llm.Chunk{})
	}
	e.done = true
	if e.includeUsage && e.usage != nil {
		b = append(b, e.prefix...)
		b = append(b, `"choices":[],"usage":`...)
		b = appendUsage(b, e.usage)
		b = append(b, "}\n\n"...)
	}
	return append(b, "data: [DONE]\n\n"...)
}
