package ollama

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// maxLine bounds one NDJSON line.
const maxLine = 8 << 20

// converter turns Ollama stream lines into canonical chunks. It is per
// request and not safe for concurrent use.
//
// Ollama sends text pieces in message.content, whole tool calls in
// message.tool_calls (each becomes one ToolCallDelta with ID, name and all
// arguments), and the counts only on the last line (done: true).
type converter struct {
	id      ids
	now     time.Time
	started bool
	chunkID string
	calls   int
	// think splits <think> tags out of the text when set.
	think *llm.ThinkSplitter
}

// process converts one line, appending to out. It reports whether the line
// was the last one.
func (c *converter) process(r *chatResponse, out []llm.Chunk) ([]llm.Chunk, bool) {
	if !c.started {
		c.started = true
		c.chunkID = c.id.response()
		out = append(out, llm.Chunk{ID: c.chunkID, Model: r.Model, Role: llm.RoleAssistant})
	}
	reasoning, text := r.Message.Thinking, r.Message.Content
	if c.think != nil {
		rt, t := c.think.Split(text)
		if r.Done {
			r2, t2 := c.think.Flush()
			rt, t = rt+r2, t+t2
		}
		reasoning, text = reasoning+rt, t
	}
	if reasoning != "" || text != "" {
		out = append(out, llm.Chunk{ID: c.chunkID, Model: r.Model, Reasoning: reasoning, Text: text})
	}
	for i := range r.Message.ToolCalls {
		tc := toCall(&r.Message.ToolCalls[i], c.id)
		out = append(out, llm.Chunk{ID: c.chunkID, Model: r.Model, ToolCalls: []llm.ToolCallDelta{{
			Index: c.calls, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments,
		}}})
		c.calls++
	}
	if !r.Done {
		return out, false
	}
	return append(out, llm.Chunk{
		ID: c.chunkID, Model: r.Model,
		FinishReason: finishReason(r.DoneReason, c.calls > 0),
		Usage:        usage(r.PromptEvalCount, r.EvalCount),
	}), true
}

// stream reads an NDJSON body. Not safe for concurrent use.
type stream struct {
	name    string
	body    io.ReadCloser
	r       *bufio.Reader
	conv    converter
	line    []byte
	pending []llm.Chunk // converted, not yet returned from pos on
	pos     int
	done    bool
	err     error
}

func newStream(name string, resp *http.Response, conv converter) *stream {
	return &stream{name: name, body: resp.Body, r: bufio.NewReaderSize(resp.Body, 16<<10), conv: conv}
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
		line, err := s.readLine()
		if len(bytes.TrimSpace(line)) == 0 {
			if err != nil {
				s.fail(err)
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			s.fail(err)
			continue
		}
		var r chatResponse
		if jerr := json.Unmarshal(line, &r); jerr != nil {
			s.err = malformed(s.name, fmt.Errorf("stream line: %w", jerr))
			continue
		}
		if r.Error != "" {
			s.err = &llm.Error{
				Status:   http.StatusBadGateway,
				Type:     llm.ErrUpstream,
				Code:     "upstream_stream_error",
				Message:  fmt.Sprintf("upstream %s: %s", s.name, r.Error),
				Provider: s.name,
				Err:      errors.New("error line in stream"),
			}
			continue
		}
		s.pending, s.done = s.conv.process(&r, s.pending)
		if err != nil && !s.done {
			// A last line without its newline and without done: cut.
			s.fail(err)
		}
	}
}

// readLine returns one line (without the newline), bounded by maxLine.
func (s *stream) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		frag, err := s.r.ReadSlice('\n')
		s.line = append(s.line, frag...)
		if len(s.line) > maxLine {
			return nil, fmt.Errorf("ollama: stream line over %d bytes", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimSuffix(s.line, []byte{'\n'}), err
	}
}

// fail records why the body ended before done: true.
func (s *stream) fail(err error) {
	if errors.Is(err, io.EOF) {
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

// malformed is the error for a 2xx body that is not what the API promises.
func malformed(name string, err error) *llm.Error {
	return &llm.Error{
		Status:   http.StatusBadGateway,
		Type:     llm.ErrUpstream,
		Code:     "upstream_malformed_response",
		Message:  "upstream " + name + " returned a malformed response",
		Provider: name,
		Err:      err,
	}
}
