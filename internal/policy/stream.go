package policy

import (
	"maps"
	"slices"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// StreamRestorer restores placeholders in a streamed answer, including a
// placeholder split across chunks ("[EMA" + "IL_1]"): it holds back a
// suffix that could still become a placeholder until the next chunk
// decides it. Text and each tool call's argument deltas are handled
// separately. A StreamRestorer is not safe for concurrent use.
type StreamRestorer struct {
	d    *Decision
	text string         // held-back text
	args map[int]string // held-back arguments per tool-call index
	// id and model of the last chunk, for chunks Flush makes.
	id, model string
}

// NewStreamRestorer returns a restorer for one stream of this request.
func (d *Decision) NewStreamRestorer() *StreamRestorer {
	return &StreamRestorer{d: d}
}

// Process returns the chunks to send for c: usually one, none when all of
// c's text is held back and c carries nothing else. At a chunk with a
// finish reason or usage, everything held back is released.
func (r *StreamRestorer) Process(c *llm.Chunk) []llm.Chunk {
	rep := r.d.rep
	if rep == nil {
		return []llm.Chunk{*c}
	}
	r.id, r.model = c.ID, c.Model
	final := c.FinishReason != "" || c.Usage != nil
	out := *c
	if c.Text != "" || final && r.text != "" {
		emit, hold := r.split(r.text+c.Text, final)
		r.text = hold
		out.Text = rep.restore.Replace(emit)
	}
	if len(c.ToolCalls) > 0 {
		out.ToolCalls = make([]llm.ToolCallDelta, len(c.ToolCalls))
		for i, tc := range c.ToolCalls {
			emit, hold := r.split(r.args[tc.Index]+tc.Arguments, final)
			r.setArgs(tc.Index, hold)
			tc.Arguments = rep.restoreJSON.Replace(emit)
			out.ToolCalls[i] = tc
		}
	}
	if final {
		out.ToolCalls = append(out.ToolCalls, r.heldArgs()...)
	}
	if out.Role == "" && out.Text == "" && len(out.ToolCalls) == 0 && out.FinishReason == "" && out.Usage == nil && out.StopSequence == "" {
		return nil
	}
	return []llm.Chunk{out}
}

// Flush returns a chunk with whatever is still held back (a stream that
// ended without a finish chunk), or nil.
func (r *StreamRestorer) Flush() []llm.Chunk {
	rep := r.d.rep
	if rep == nil || r.text == "" && len(r.args) == 0 {
		return nil
	}
	c := llm.Chunk{ID: r.id, Model: r.model, Text: rep.restore.Replace(r.text), ToolCalls: r.heldArgs()}
	r.text = ""
	if c.Text == "" && len(c.ToolCalls) == 0 {
		return nil
	}
	return []llm.Chunk{c}
}

// heldArgs releases the held-back arguments, by tool-call index.
func (r *StreamRestorer) heldArgs() []llm.ToolCallDelta {
	if len(r.args) == 0 {
		return nil
	}
	idx := slices.Sorted(maps.Keys(r.args))
	out := make([]llm.ToolCallDelta, 0, len(idx))
	for _, i := range idx {
		out = append(out, llm.ToolCallDelta{Index: i, Arguments: r.d.rep.restoreJSON.Replace(r.args[i])})
	}
	r.args = nil
	return out
}

func (r *StreamRestorer) setArgs(idx int, hold string) {
	if hold == "" {
		delete(r.args, idx)
		return
	}
	if r.args == nil {
		r.args = map[int]string{}
	}
	r.args[idx] = hold
}

// split returns the part of s that can be emitted and the suffix to hold
// back: from the last '[' when what follows is a proper prefix of a
// placeholder of this request.
func (r *StreamRestorer) split(s string, final bool) (emit, hold string) {
	if final {
		return s, ""
	}
	k := strings.LastIndexByte(s, '[')
	if k < 0 || len(s)-k >= r.d.rep.maxLen {
		return s, ""
	}
	tail := s[k:]
	for _, sub := range r.d.subs {
		if len(tail) < len(sub.placeholder) && strings.HasPrefix(sub.placeholder, tail) {
			return s[:k], tail
		}
	}
	return s, ""
}
