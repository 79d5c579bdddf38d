package cache

import (
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Builder assembles the chunks of a streamed answer into the complete
// response a cache entry holds: the reasoning as thoughts (each with the
// signature that closed it, which Claude needs on a thought sent back),
// the text concatenated exactly as it was streamed, tool calls joined by
// index, the finish reason and usage. Not safe for concurrent use.
type Builder struct {
	id, model    string
	thoughts     []llm.Thought
	thinking     bool // the last thought is still streaming
	text         strings.Builder
	calls        []llm.ToolCall
	finish, stop string
	usage        *llm.Usage
	// bytes bounds what is kept; past max the builder gives up.
	bytes, max int64
	overflow   bool
}

// NewBuilder returns a builder that gives up (Response returns nil) once
// the answer exceeds maxBytes.
func NewBuilder(maxBytes int64) *Builder { return &Builder{max: maxBytes} }

// Add takes the next chunk, before any restoring of redacted values.
func (b *Builder) Add(ch *llm.Chunk) {
	if b.overflow {
		return
	}
	if b.id == "" {
		b.id = ch.ID
	}
	if b.model == "" {
		b.model = ch.Model
	}
	if ch.Reasoning != "" || ch.Signature != "" {
		// As the stream encoders do: a signature closes the thought, and
		// so does the text or a tool call that follows it.
		if !b.thinking {
			b.thoughts = append(b.thoughts, llm.Thought{})
			b.thinking = true
		}
		t := &b.thoughts[len(b.thoughts)-1]
		t.Text += ch.Reasoning
		if ch.Signature != "" {
			t.Signature, b.thinking = ch.Signature, false
		}
		b.bytes += int64(len(ch.Reasoning) + len(ch.Signature))
	}
	if ch.Redacted != "" {
		b.thoughts = append(b.thoughts, llm.Thought{Redacted: ch.Redacted})
		b.thinking = false
		b.bytes += int64(len(ch.Redacted))
	}
	if ch.Text != "" || len(ch.ToolCalls) > 0 {
		b.thinking = false
	}
	b.text.WriteString(ch.Text)
	b.bytes += int64(len(ch.Text))
	for _, d := range ch.ToolCalls {
		for len(b.calls) <= d.Index {
			b.calls = append(b.calls, llm.ToolCall{})
		}
		tc := &b.calls[d.Index]
		if d.ID != "" {
			tc.ID = d.ID
		}
		if d.Name != "" {
			tc.Name = d.Name
		}
		tc.Arguments += d.Arguments
		b.bytes += int64(len(d.ID) + len(d.Name) + len(d.Arguments))
	}
	if ch.FinishReason != "" {
		b.finish = ch.FinishReason
	}
	if ch.StopSequence != "" {
		b.stop = ch.StopSequence
	}
	if ch.Usage != nil {
		u := *ch.Usage
		b.usage = &u
	}
	if b.max > 0 && b.bytes > b.max {
		b.overflow = true
	}
}

// Response returns the assembled answer, or nil when the stream never
// finished (no finish reason) or was too large to keep.
func (b *Builder) Response() *llm.ChatResponse {
	if b.overflow || b.finish == "" {
		return nil
	}
	msg := llm.Message{Role: llm.RoleAssistant, Thoughts: b.thoughts, ToolCalls: b.calls}
	if b.text.Len() > 0 || len(b.calls) == 0 {
		msg.Content = []llm.Part{{Type: llm.PartText, Text: b.text.String()}}
	}
	return &llm.ChatResponse{
		ID: b.id, Model: b.model, Usage: b.usage, StopSequence: b.stop,
		Choices: []llm.Choice{{Message: msg, FinishReason: b.finish}},
	}
}
