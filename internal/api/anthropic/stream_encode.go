package anthropic

import (
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// StreamEncoder turns canonical chunks into the Messages streaming event
// sequence (https://docs.anthropic.com/en/api/messages-streaming):
//
//	message_start
//	(content_block_start, content_block_delta..., content_block_stop)...
//	message_delta (stop_reason, stop_sequence, usage)
//	message_stop
//
// Input tokens are usually unknown when the first chunk arrives (OpenAI
// reports usage last), so message_start carries 0 and message_delta carries
// the real input_tokens and cache counts; the Anthropic SDKs take counts
// present in message_delta over those of message_start (anthropic-sdk-go
// Message.Accumulate overwrites input_tokens when message_delta has it).
//
// One StreamEncoder serves one response; it is not safe for concurrent use.
type StreamEncoder struct {
	id, model string

	started bool
	// open is the index of the open content block, -1 when none.
	open     int
	openKind int // blockText, blockTool or blockThinking
	next     int
	// tools maps a canonical tool-call index to its open tool block.
	tools map[int]toolBlock

	finish, stopSeq string
	usage           *llm.Usage
	sawTools        bool
	omitThinking    bool
}

// OmitThinking makes thinking blocks carry no text, only their signature,
// as Anthropic answers a request with thinking.display "omitted".
func (e *StreamEncoder) OmitThinking() { e.omitThinking = true }

// NewStreamEncoder returns an encoder for the message id (a canonical id is
// turned into "msg_...") and model name.
func NewStreamEncoder(id, model string) *StreamEncoder {
	return &StreamEncoder{id: MessageID(id), model: model, open: -1}
}

// Append appends the complete SSE events for c to b. Finish reason and
// usage are held until Done.
func (e *StreamEncoder) Append(b []byte, c *llm.Chunk) []byte {
	if !e.started {
		b = e.start(b, c.Usage)
	}
	if c.Redacted != "" {
		// A redacted_thinking block comes whole in its start event.
		b = e.closeBlock(b)
		b = e.startBlock(b, blockThinking)
		b = append(b, `{"type":"redacted_thinking","data":`...)
		b = appendString(b, c.Redacted)
		b = append(b, "}}\n\n"...)
		b = e.closeBlock(b)
	}
	if c.Reasoning != "" || c.Signature != "" {
		if e.open < 0 || e.openKind != blockThinking {
			b = e.closeBlock(b)
			b = e.startBlock(b, blockThinking)
			b = append(b, `{"type":"thinking","thinking":"","signature":""}}`...)
			b = append(b, "\n\n"...)
		}
		if c.Reasoning != "" && !e.omitThinking {
			b = e.event(b, "content_block_delta", e.open)
			b = append(b, `,"delta":{"type":"thinking_delta","thinking":`...)
			b = appendString(b, c.Reasoning)
			b = append(b, "}}\n\n"...)
		}
		if c.Signature != "" {
			// The signature ends the thought.
			b = e.event(b, "content_block_delta", e.open)
			b = append(b, `,"delta":{"type":"signature_delta","signature":`...)
			b = appendString(b, c.Signature)
			b = append(b, "}}\n\n"...)
			b = e.closeBlock(b)
		}
	}
	if c.Text != "" {
		if e.open < 0 || e.openKind != blockText {
			b = e.closeBlock(b)
			b = e.startBlock(b, blockText)
			b = append(b, `{"type":"text","text":""}}`...)
			b = append(b, "\n\n"...)
		}
		b = e.event(b, "content_block_delta", e.open)
		b = append(b, `,"delta":{"type":"text_delta","text":`...)
		b = appendString(b, c.Text)
		b = append(b, "}}\n\n"...)
	}
	for i := range c.ToolCalls {
		b = e.toolDelta(b, &c.ToolCalls[i])
	}
	if c.FinishReason != "" {
		e.finish = c.FinishReason
	}
	if c.StopSequence != "" {
		e.stopSeq = c.StopSequence
	}
	if c.Usage != nil {
		u := *c.Usage
		e.usage = &u
	}
	return b
}

type toolBlock struct {
	block int
	id    string
}

func (e *StreamEncoder) toolDelta(b []byte, d *llm.ToolCallDelta) []byte {
	e.sawTools = true
	tb, ok := e.tools[d.Index]
	// Some OpenAI-compatible servers number every call 0; a new id under
	// a known index is a new call.
	if !ok || (d.ID != "" && d.ID != tb.id) {
		if e.tools == nil {
			e.tools = make(map[int]toolBlock, 2)
		}
		b = e.closeBlock(b)
		b = e.startBlock(b, blockTool)
		id := d.ID
		if id == "" {
			id = toolUseID(e.id, e.open)
		}
		tb = toolBlock{block: e.open, id: id}
		e.tools[d.Index] = tb
		b = append(b, `{"type":"tool_use","id":`...)
		b = appendString(b, id)
		b = append(b, `,"name":`...)
		b = appendString(b, d.Name)
		b = append(b, `,"input":{}}}`...)
		b = append(b, "\n\n"...)
	}
	if d.Arguments == "" {
		return b
	}
	b = e.event(b, "content_block_delta", tb.block)
	b = append(b, `,"delta":{"type":"input_json_delta","partial_json":`...)
	b = appendString(b, d.Arguments)
	return append(b, "}}\n\n"...)
}

// Done closes the open block and appends message_delta and message_stop.
func (e *StreamEncoder) Done(b []byte) []byte {
	if !e.started {
		b = e.start(b, nil)
	}
	b = e.closeBlock(b)
	finish := e.finish
	if finish == "" && e.sawTools {
		finish = llm.FinishToolCalls
	}
	sr := stopReason(finish, e.stopSeq)
	b = append(b, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
	b = appendString(b, sr)
	b = append(b, `,"stop_sequence":`...)
	if sr == "stop_sequence" {
		b = appendString(b, e.stopSeq)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `},"usage":{`...)
	if u := e.usage; u != nil {
		b = append(b, `"input_tokens":`...)
		b = appendInt(b, anthropicInput(u))
		b = append(b, `,"cache_creation_input_tokens":`...)
		b = appendInt(b, u.CacheWriteTokens)
		b = append(b, `,"cache_read_input_tokens":`...)
		b = appendInt(b, u.CacheReadTokens)
		b = append(b, `,"output_tokens":`...)
		b = appendInt(b, u.OutputTokens)
	} else {
		b = append(b, `"output_tokens":0`...)
	}
	b = append(b, "}}\n\n"...)
	return append(b, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

func (e *StreamEncoder) start(b []byte, u *llm.Usage) []byte {
	e.started = true
	var in, read, write int64
	if u != nil {
		in, read, write = anthropicInput(u), u.CacheReadTokens, u.CacheWriteTokens
	}
	b = append(b, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"...)
	b = appendString(b, e.id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendString(b, e.model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
	b = appendInt(b, in)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = appendInt(b, write)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = appendInt(b, read)
	return append(b, ",\"output_tokens\":0}}}\n\n"...)
}

// startBlock opens block e.next and leaves b ready for the content_block
// object.
func (e *StreamEncoder) startBlock(b []byte, kind int) []byte {
	e.open, e.openKind = e.next, kind
	e.next++
	b = e.event(b, "content_block_start", e.open)
	return append(b, `,"content_block":`...)
}

func (e *StreamEncoder) closeBlock(b []byte) []byte {
	if e.open < 0 {
		return b
	}
	b = e.event(b, "content_block_stop", e.open)
	e.open = -1
	return append(b, "}\n\n"...)
}

// event appends `event: NAME\ndata: {"type":"NAME","index":N` (unclosed).
func (e *StreamEncoder) event(b []byte, name string, index int) []byte {
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: {\"type\":\""...)
	b = append(b, name...)
	b = append(b, `","index":`...)
	return appendInt(b, int64(index))
}
