package anthropic

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"

	wire "github.com/fulcrumhq/fulcrum/internal/api/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// stream reads an Anthropic event stream as canonical chunks. It is not
// safe for concurrent use, except Close.
type stream struct {
	c       *Client
	body    io.ReadCloser
	events  *sse.Decoder
	dec     *wire.StreamDecoder
	pending []llm.Chunk
	next    int
	done    bool
	err     error

	closeOnce sync.Once
}

func newStream(c *Client, resp *http.Response) *stream {
	return &stream{c: c, body: resp.Body, events: sse.NewDecoder(resp.Body), dec: wire.NewStreamDecoder()}
}

// Recv returns the next chunk, io.EOF after message_stop, the upstream's
// error for an error event, or a stream_interrupted error when the stream
// ends without message_stop.
func (s *stream) Recv() (*llm.Chunk, error) {
	for {
		if s.next < len(s.pending) {
			c := &s.pending[s.next]
			s.next++
			return c, nil
		}
		if s.err != nil {
			return nil, s.err
		}
		if s.done {
			return nil, io.EOF
		}
		ev, err := s.events.Next()
		if err != nil {
			s.err = s.readError(err)
			continue
		}
		chunks, done, err := s.dec.Process(ev.Event, ev.Data)
		if err != nil {
			s.err = s.c.own(err)
			continue
		}
		// The decoder's chunks slice is fresh per event, so the returned
		// pointers stay valid after later calls.
		s.pending, s.next, s.done = chunks, 0, done
	}
}

// readError maps a failed read: the client going away (or its deadline)
// is reported as such, anything else as a cut stream.
func (s *stream) readError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		e := provider.TransportError(context.Background(), err)
		e.Provider = s.c.info.Name
		return e
	}
	return provider.StreamCut(s.c.info.Name, err)
}

// Close releases the connection; it is safe to call more than once.
func (s *stream) Close() error {
	s.closeOnce.Do(func() { s.body.Close() })
	return nil
}
