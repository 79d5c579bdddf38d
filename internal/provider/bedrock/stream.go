package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// stream reads a ConverseStream body: AWS event-stream messages whose
// :event-type header names the ConverseStreamOutput member and whose
// payload is that member's JSON. It is not safe for concurrent use,
// except Close.
type stream struct {
	name, id, model string
	body            io.ReadCloser
	dec             *eventstream.Decoder
	buf             []byte

	started bool
	tools   map[int]int // content block index -> tool call index
	finish  string
	stopped bool // messageStop seen
	pending []llm.Chunk
	err     error
	once    sync.Once
}

func newStream(name string, resp *http.Response, id, model string) *stream {
	return &stream{name: name, id: id, model: model, body: resp.Body, dec: eventstream.NewDecoder(),
		tools: map[int]int{}}
}

var errNoStop = errors.New("event stream ended before messageStop and metadata")

// Recv returns the next chunk; io.EOF after the metadata event that
// follows messageStop (or after messageStop when the stream then ends).
func (s *stream) Recv() (*llm.Chunk, error) {
	for {
		if len(s.pending) > 0 {
			c := &s.pending[0]
			s.pending = s.pending[1:]
			return c, nil
		}
		if s.err != nil {
			return nil, s.err
		}
		msg, err := s.dec.Decode(s.body, s.buf)
		if err != nil {
			s.fail(s.readError(err))
			continue
		}
		s.buf = msg.Payload[:0]
		if err := s.event(&msg); err != nil {
			s.fail(err)
		}
	}
}

func header(m *eventstream.Message, name string) string {
	v := m.Headers.Get(name)
	if v == nil {
		return ""
	}
	if s, ok := v.Get().(string); ok {
		return s
	}
	return v.String()
}

// event converts one message into pending chunks.
func (s *stream) event(m *eventstream.Message) error {
	switch header(m, ":message-type") {
	case "exception":
		typ := header(m, ":exception-type")
		return awsError(s.name, &http.Response{StatusCode: http.StatusBadGateway, Header: http.Header{}}, typ, errorMessage(m.Payload))
	case "error":
		return awsError(s.name, nil, header(m, ":error-code"), header(m, ":error-message"))
	}
	ev := header(m, ":event-type")
	if !s.started && ev != "messageStart" {
		s.started = true
		s.pending = append(s.pending, llm.Chunk{ID: s.id, Model: s.model, Role: llm.RoleAssistant})
	}
	switch ev {
	case "messageStart":
		if !s.started {
			s.started = true
			s.pending = append(s.pending, llm.Chunk{ID: s.id, Model: s.model, Role: llm.RoleAssistant})
		}
	case "contentBlockStart":
		var e contentBlockStartEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			return s.bad(ev, err)
		}
		if tu := e.Start.ToolUse; tu != nil {
			i := len(s.tools)
			s.tools[e.ContentBlockIndex] = i
			s.pending = append(s.pending, llm.Chunk{ID: s.id, Model: s.model,
				ToolCalls: []llm.ToolCallDelta{{Index: i, ID: tu.ToolUseID, Name: tu.Name}}})
		}
	case "contentBlockDelta":
		var e contentBlockDeltaEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			return s.bad(ev, err)
		}
		switch {
		case e.Delta.Text != nil:
			if *e.Delta.Text != "" {
				s.pending = append(s.pending, llm.Chunk{ID: s.id, Model: s.model, Text: *e.Delta.Text})
			}
		case e.Delta.ReasoningContent != nil:
			// Reasoning text, then the signature that closes the thought;
			// redacted reasoning comes whole, a thought of its own.
			rc := e.Delta.ReasoningContent
			c := llm.Chunk{ID: s.id, Model: s.model}
			if rc.Text != nil {
				c.Reasoning = *rc.Text
			}
			if rc.Signature != nil {
				c.Signature = *rc.Signature
			}
			if rc.RedactedContent != nil {
				c.Redacted = *rc.RedactedContent
			}
			if c.Reasoning != "" || c.Signature != "" || c.Redacted != "" {
				s.pending = append(s.pending, c)
			}
		case e.Delta.ToolUse != nil:
			i, ok := s.tools[e.ContentBlockIndex]
			if !ok {
				return s.bad(ev, fmt.Errorf("tool input delta for block %d, which started no tool use", e.ContentBlockIndex))
			}
			s.pending = append(s.pending, llm.Chunk{ID: s.id, Model: s.model,
				ToolCalls: []llm.ToolCallDelta{{Index: i, Arguments: e.Delta.ToolUse.Input}}})
		}
	case "messageStop":
		var e messageStopEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			return s.bad(ev, err)
		}
		s.stopped = true
		s.finish = finishReason(e.StopReason)
	case "metadata":
		var e metadataEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			return s.bad(ev, err)
		}
		if !s.stopped {
			return provider.StreamCut(s.name, errors.New("metadata before messageStop"))
		}
		s.pending = append(s.pending, llm.Chunk{ID: s.id, Model: s.model, FinishReason: s.finish, Usage: usage(e.Usage)})
		s.err = io.EOF
		s.Close()
	}
	return nil
}

func (s *stream) bad(ev string, err error) error {
	return &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "bad_upstream_response", Provider: s.name,
		Message: fmt.Sprintf("upstream %s: malformed %s event: %v", s.name, ev, err), Err: err}
}

// readError maps a failed read. A stream that ends after messageStop but
// without metadata is complete but for usage.
func (s *stream) readError(err error) error {
	if errors.Is(err, io.EOF) && s.stopped {
		s.pending = append(s.pending, llm.Chunk{ID: s.id, Model: s.model, FinishReason: s.finish})
		return io.EOF
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		e := provider.TransportError(context.Background(), err)
		e.Provider = s.name
		return e
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return provider.StreamCut(s.name, errNoStop)
	}
	return provider.StreamCut(s.name, err)
}

func (s *stream) fail(err error) {
	s.err = err
	s.Close()
}

// Close releases the connection; it is safe to call more than once.
func (s *stream) Close() error {
	s.once.Do(func() { s.body.Close() })
	return nil
}
