package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// streamEvent is one SSE data payload of streamGenerateContent?alt=sse: a
// GenerateContentResponse, or an error object when the upstream fails
// mid-stream.
type streamEvent struct {
	generateResponse
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error,omitempty"`
}

// converter turns Gemini stream chunks into canonical chunks. It is per
// request and not safe for concurrent use.
//
// Gemini sends usageMetadata on every chunk as a running total, so usage is
// never summed: the last value seen is emitted once, with the finish reason,
// when the stream ends. Function calls arrive whole in one part, so each
// becomes a single ToolCallDelta carrying ID, name and all arguments.
type converter struct {
	id, model string
	newID     func() string

	started   bool
	nextIndex int // index of the next tool call
	finish    string
	usage     *usageMetadata
}

// process converts one chunk, appending the canonical chunks to out.
func (c *converter) process(ev *generateResponse, out []llm.Chunk) []llm.Chunk {
	if ev.UsageMetadata != nil {
		c.usage = ev.UsageMetadata
	}
	if c.id == "" {
		c.id = ev.ResponseID
		if c.id == "" {
			c.id = c.newID()
		}
	}
	if ev.ModelVersion != "" {
		c.model = ev.ModelVersion
	}
	if !c.started {
		c.started = true
		out = append(out, llm.Chunk{ID: c.id, Model: c.model, Role: llm.RoleAssistant})
	}
	if len(ev.Candidates) == 0 {
		if ev.PromptFeedback != nil && ev.PromptFeedback.BlockReason != "" {
			c.finish = llm.FinishContentFilter
		}
		return out
	}
	cand := &ev.Candidates[0]
	for _, p := range cand.Content.Parts {
		switch {
		case p.FunctionCall != nil:
			tc := toolCall(p.FunctionCall, c.newID)
			out = append(out, llm.Chunk{ID: c.id, Model: c.model, ToolCalls: []llm.ToolCallDelta{{
				Index: c.nextIndex, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments, Signature: p.ThoughtSignature,
			}}})
			c.nextIndex++
		case p.Text == "":
		case p.Thought:
			out = append(out, llm.Chunk{ID: c.id, Model: c.model, Reasoning: p.Text})
		default:
			out = append(out, llm.Chunk{ID: c.id, Model: c.model, Text: p.Text})
		}
	}
	if f := finishReason(cand.FinishReason); f != "" {
		c.finish = f
	}
	return out
}

// end returns the final chunk, or false when no finish reason was seen
// (the stream was cut).
func (c *converter) end() (llm.Chunk, bool) {
	if c.finish == "" {
		return llm.Chunk{}, false
	}
	f := c.finish
	if c.nextIndex > 0 && f == llm.FinishStop {
		f = llm.FinishToolCalls
	}
	return llm.Chunk{ID: c.id, Model: c.model, FinishReason: f, Usage: usage(c.usage)}, true
}

// stream reads an SSE body. Not safe for concurrent use.
type stream struct {
	name    string
	body    io.ReadCloser
	dec     *sse.Decoder
	conv    converter
	pending []llm.Chunk // converted, not yet returned from pos on
	pos     int
	done    bool
	err     error
}

func newStream(name string, resp *http.Response, conv converter) *stream {
	return &stream{name: name, body: resp.Body, dec: sse.NewDecoder(resp.Body), conv: conv}
}

// Recv returns the next chunk, io.EOF after the last one.
func (s *stream) Recv() (*llm.Chunk, error) {
	for {
		if s.pos < len(s.pending) {
			ch := &s.pending[s.pos]
			s.pos++
			return ch, nil
		}
		// The caller may keep the chunks it got; start a new batch.
		s.pending, s.pos = nil, 0
		if s.err != nil {
			return nil, s.err
		}
		if s.done {
			return nil, io.EOF
		}
		ev, err := s.dec.Next()
		if err != nil {
			s.fail(err)
			continue
		}
		var se streamEvent
		if err := json.Unmarshal(ev.Data, &se); err != nil {
			s.err = malformed(s.name, fmt.Errorf("stream event: %w", err))
			continue
		}
		if se.Error != nil {
			le := &llm.Error{
				Status:   http.StatusBadGateway,
				Type:     llm.ErrUpstream,
				Code:     "upstream_stream_error",
				Message:  fmt.Sprintf("upstream %s: %s", s.name, se.Error.Message),
				Provider: s.name,
				Err:      fmt.Errorf("stream error %d %s", se.Error.Code, se.Error.Status),
			}
			if se.Error.Code == http.StatusTooManyRequests || se.Error.Code == http.StatusServiceUnavailable {
				le.Type = llm.StatusType(se.Error.Code)
			}
			s.err = le
			continue
		}
		s.pending = s.conv.process(&se.generateResponse, s.pending)
	}
}

// fail records the end of the body: a clean end after a finish reason
// yields the final chunk; anything else is a cut stream or a transport
// failure (a cancelled client is a 499).
func (s *stream) fail(err error) {
	if errors.Is(err, io.EOF) {
		if last, ok := s.conv.end(); ok {
			s.pending = append(s.pending, last)
			s.done = true
			return
		}
		s.err = provider.StreamCut(s.name, io.ErrUnexpectedEOF)
		return
	}
	if te := provider.TransportError(context.Background(), err); te.Status == 499 {
		s.err = te
		return
	}
	s.err = provider.StreamCut(s.name, err)
}

// Close releases the connection; safe to call more than once.
func (s *stream) Close() error {
	s.done = true
	if s.err == nil {
		s.err = io.EOF
	}
	return s.body.Close()
}
