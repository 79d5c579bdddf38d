// Package oaicompat holds what the adapters of OpenAI-compatible cloud
// upstreams (azure_openai, mistral) share and the openai adapter keeps to
// itself: the SSE stream reader over internal/api/openai's decoder, and the
// JSON error checks. Adapters never import each other; they import this.
package oaicompat

import (
	"context"
	"errors"
	"io"
	"sync"

	api "github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// stream reads an upstream SSE body. It is not safe for concurrent use,
// except Close, which may be called from another goroutine to abort a
// blocked Recv.
//
// The request's context is not kept here: its cancellation already aborts
// the body read inside net/http, and Recv maps that error to a 499.
type stream struct {
	name    string
	body    io.ReadCloser
	dec     *sse.Decoder
	conv    *api.StreamDecoder
	pending []llm.Chunk
	err     error // sticky: io.EOF after [DONE], else the failure
	once    sync.Once
}

// NewStream reads an OpenAI Chat Completions SSE body (data: chunks, then
// data: [DONE]) as canonical chunks, for adapters of OpenAI-compatible
// upstreams (azure_openai, mistral). name is the provider's name for
// errors.
func NewStream(name string, body io.ReadCloser) provider.Stream { return newStream(name, body) }

func newStream(name string, body io.ReadCloser) *stream {
	return &stream{name: name, body: body, dec: sse.NewDecoder(body), conv: api.NewStreamDecoder()}
}

var (
	errNoDone   = errors.New("stream ended without data: [DONE]")
	errNoFinish = errors.New("stream sent [DONE] without a finish_reason")
)

// Recv returns the next chunk; io.EOF after [DONE]; provider.StreamCut
// when the stream ends without [DONE] or without a finish_reason; a 499
// when the caller's context was cancelled.
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
		ev, err := s.dec.Next()
		if err != nil {
			s.fail(s.readError(err))
			continue
		}
		chunks, done, perr := s.conv.Process(ev.Data)
		s.pending = chunks
		switch {
		case perr != nil:
			var e *llm.Error
			if errors.As(perr, &e) {
				e.Provider = s.name
				e.Message = "upstream " + s.name + ": " + e.Message
			}
			s.fail(perr)
		case done && !s.conv.Finished():
			s.fail(provider.StreamCut(s.name, errNoFinish))
		case done:
			s.fail(io.EOF)
		}
	}
}

// readError maps a failed read of the body.
func (s *stream) readError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return provider.StreamCut(s.name, errNoDone)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		e := provider.TransportError(context.Background(), err)
		e.Provider = s.name
		return e
	}
	// A reset connection, say: the stream was cut.
	return provider.StreamCut(s.name, err)
}

// fail ends the stream with err (io.EOF for a clean end) and releases the
// connection.
func (s *stream) fail(err error) {
	s.err = err
	s.Close()
}

// Close releases the connection. It is safe to call more than once.
func (s *stream) Close() error {
	s.once.Do(func() { s.body.Close() })
	return nil
}
