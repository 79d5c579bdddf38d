package anthropic

import (
	"encoding/json"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// streamEvent is the union of the streaming events' JSON.
type streamEvent struct {
	Type         string        `json:"type"`
	Message      *wireResponse `json:"message"`
	Index        int           `json:"index"`
	ContentBlock *wireBlock    `json:"content_block"`
	Delta        *streamDelta  `json:"delta"`
	Usage        *wireUsage    `json:"usage"`
	Error        *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// streamDelta is a content_block_delta's or message_delta's delta.
type streamDelta struct {
	Type         string  `json:"type"`
	Text         string  `json:"text"`
	PartialJSON  string  `json:"partial_json"`
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

// Kinds of content blocks the decoder tracks.
const (
	blockOther = iota // server tools: skipped
	blockText
	blockTool
	blockThinking
)

type blockState struct {
	kind int
	// tool is the canonical tool-call index of a tool_use block.
	tool int
	// args is true once the block sent a non-empty input delta.
	args bool
}

// StreamDecoder turns an upstream Anthropic event stream into canonical
// chunks (https://docs.anthropic.com/en/api/messages-streaming). Usage comes
// from message_start (input and cache counts) and message_delta (output
// tokens, and any counts it repeats, which win); the finish reason and the
// whole usage are emitted in one chunk at message_stop.
//
// One StreamDecoder serves one stream; it is not safe for concurrent use.
type StreamDecoder struct {
	id, model string
	blocks    []blockState
	tools     int
	usage     wireUsage
	sawUsage  bool
	stop      string
	stopSeq   string
	ev        streamEvent
}

// NewStreamDecoder returns a decoder for one stream.
func NewStreamDecoder() *StreamDecoder { return &StreamDecoder{} }

// Process handles one SSE event. event is the SSE event name (the JSON
// "type" is used when it is empty). done is true after message_stop. An
// error event is returned as an *llm.Error with the status its type implies.
// Unknown events are ignored, as Anthropic's versioning policy asks.
func (d *StreamDecoder) Process(event string, data []byte) (chunks []llm.Chunk, done bool, err error) {
	if event == "ping" {
		return nil, false, nil
	}
	if event == "content_block_delta" {
		return d.delta(data)
	}
	ev := &d.ev
	*ev = streamEvent{}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, false, malformed(err)
	}
	if event == "" {
		event = ev.Type
	}
	switch event {
	case "message_start":
		if ev.Message == nil {
			return nil, false, malformed(errMissing("message"))
		}
		d.id, d.model = ev.Message.ID, ev.Message.Model
		d.mergeUsage(&ev.Message.Usage)
		return []llm.Chunk{{ID: d.id, Model: d.model, Role: llm.RoleAssistant}}, false, nil
	case "content_block_start":
		if ev.ContentBlock == nil || ev.Index < 0 || ev.Index > 1<<16 {
			return nil, false, malformed(errMissing("content_block"))
		}
		for len(d.blocks) <= ev.Index {
			d.blocks = append(d.blocks, blockState{})
		}
		cb := ev.ContentBlock
		switch cb.Type {
		case "text":
			d.blocks[ev.Index] = blockState{kind: blockText}
			if cb.Text != "" {
				return []llm.Chunk{d.chunk(llm.Chunk{Text: cb.Text})}, false, nil
			}
		case "tool_use":
			bs := blockState{kind: blockTool, tool: d.tools}
			d.tools++
			td := llm.ToolCallDelta{Index: bs.tool, ID: cb.ID, Name: cb.Name}
			if present(cb.Input) && string(cb.Input) != "{}" {
				td.Arguments = string(cb.Input)
				bs.args = true
			}
			d.blocks[ev.Index] = bs
			return []llm.Chunk{d.chunk(llm.Chunk{ToolCalls: []llm.ToolCallDelta{td}})}, false, nil
		case "thinking":
			d.blocks[ev.Index] = blockState{kind: blockThinking}
			if t := thinkingText(cb); t != "" {
				return []llm.Chunk{d.chunk(llm.Chunk{Reasoning: t})}, false, nil
			}
		case "redacted_thinking":
			// Whole in its start event, no deltas.
			d.blocks[ev.Index] = blockState{kind: blockOther}
			if cb.Data != "" {
				return []llm.Chunk{d.chunk(llm.Chunk{Redacted: cb.Data})}, false, nil
			}
		default:
			// Server tools.
			d.blocks[ev.Index] = blockState{kind: blockOther}
		}
	case "content_block_delta":
		return d.delta(data)
	case "content_block_stop":
		if ev.Index >= 0 && ev.Index < len(d.blocks) {
			bs := &d.blocks[ev.Index]
			if bs.kind == blockTool && !bs.args {
				// A tool without arguments streams no input; OpenAI-style
				// clients parse the arguments string, so give them "{}".
				bs.args = true
				return []llm.Chunk{d.chunk(llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: bs.tool, Arguments: "{}"}}})}, false, nil
			}
		}
	case "message_delta":
		if ev.Delta != nil {
			if ev.Delta.StopReason != nil {
				d.stop = *ev.Delta.StopReason
			}
			if ev.Delta.StopSequence != nil {
				d.stopSeq = *ev.Delta.StopSequence
			}
		}
		if ev.Usage != nil {
			d.mergeUsage(ev.Usage)
		}
	case "message_stop":
		c := d.chunk(llm.Chunk{FinishReason: finishReason(d.stop), StopSequence: d.stopSeq})
		if d.sawUsage {
			c.Usage = canonicalUsage(&d.usage)
		}
		return []llm.Chunk{c}, true, nil
	case "error":
		if ev.Error == nil {
			return nil, false, malformed(errMissing("error"))
		}
		return nil, false, upstreamError(ev.Error.Type, ev.Error.Message)
	}
	return nil, false, nil
}

// blockDelta is content_block_delta alone: the per-token event gets a
// small struct without pointers, which decodes with fewer allocations.
type blockDelta struct {
	Index int `json:"index"`
	Delta struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
		Thinking    string `json:"thinking"`
		Signature   string `json:"signature"`
	} `json:"delta"`
}

func (d *StreamDecoder) delta(data []byte) ([]llm.Chunk, bool, error) {
	var ev blockDelta
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, false, malformed(err)
	}
	if ev.Index < 0 || ev.Index >= len(d.blocks) {
		return nil, false, malformed(errMissing("a started block"))
	}
	bs := &d.blocks[ev.Index]
	switch {
	case ev.Delta.Type == "text_delta" && bs.kind == blockText && ev.Delta.Text != "":
		return []llm.Chunk{d.chunk(llm.Chunk{Text: ev.Delta.Text})}, false, nil
	case ev.Delta.Type == "input_json_delta" && bs.kind == blockTool && ev.Delta.PartialJSON != "":
		bs.args = true
		return []llm.Chunk{d.chunk(llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: bs.tool, Arguments: ev.Delta.PartialJSON}}})}, false, nil
	case ev.Delta.Type == "thinking_delta" && bs.kind == blockThinking && ev.Delta.Thinking != "":
		return []llm.Chunk{d.chunk(llm.Chunk{Reasoning: ev.Delta.Thinking})}, false, nil
	case ev.Delta.Type == "signature_delta" && bs.kind == blockThinking && ev.Delta.Signature != "":
		return []llm.Chunk{d.chunk(llm.Chunk{Signature: ev.Delta.Signature})}, false, nil
	}
	return nil, false, nil
}

func (d *StreamDecoder) chunk(c llm.Chunk) llm.Chunk {
	c.ID, c.Model = d.id, d.model
	return c
}

// mergeUsage keeps the latest value of each count that is present: every
// count Anthropic sends is a cumulative total.
func (d *StreamDecoder) mergeUsage(u *wireUsage) {
	d.usage.merge(u)
	d.sawUsage = true
}

func (u *wireUsage) merge(n *wireUsage) {
	if n.InputTokens != nil {
		u.InputTokens = n.InputTokens
	}
	if n.CacheCreationInputTokens != nil {
		u.CacheCreationInputTokens = n.CacheCreationInputTokens
	}
	if n.CacheReadInputTokens != nil {
		u.CacheReadInputTokens = n.CacheReadInputTokens
	}
	if n.OutputTokens != nil {
		u.OutputTokens = n.OutputTokens
	}
}

type errMissing string

func (e errMissing) Error() string { return "event without " + string(e) }
