package vertex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	wire "github.com/fulcrumhq/fulcrum/internal/api/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// AnthropicVersion is the anthropic_version Claude on Vertex requires in
// the body (in place of the anthropic-version header).
const AnthropicVersion = "vertex-2023-10-16"

// claudeBody encodes a Messages request for Vertex: the model goes in the
// URL, not the body, and anthropic_version is a body field.
func (c *Client) claudeBody(req *llm.ChatRequest) ([]byte, error) {
	b, err := wire.EncodeMessagesRequest(req)
	if err != nil {
		var e *llm.Error
		if errors.As(err, &e) {
			e.Provider = c.info.Name
		}
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("vertex: re-encode: %w", err)
	}
	delete(m, "model")
	m["anthropic_version"] = json.RawMessage(`"` + AnthropicVersion + `"`)
	return json.Marshal(m)
}

func (c *Client) claudeChat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	r := *req
	r.Stream = false
	body, err := c.claudeBody(&r)
	if err != nil {
		return nil, err
	}
	resp, cancel, err := c.post(ctx, "/anthropic/models/"+url.PathEscape(req.Model)+":rawPredict", body, false)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := provider.ReadBody(resp.Body, provider.MaxResponseBytes)
	if err != nil {
		e := provider.TransportError(ctx, err)
		e.Provider = c.info.Name
		return nil, e
	}
	out, err := wire.DecodeMessagesResponse(b)
	if err != nil {
		return nil, c.own(err)
	}
	out.Created = c.now().Unix()
	return out, nil
}

func (c *Client) claudeStream(ctx context.Context, req *llm.ChatRequest) (provider.Stream, error) {
	r := *req
	r.Stream = true
	body, err := c.claudeBody(&r)
	if err != nil {
		return nil, err
	}
	resp, _, err := c.post(ctx, "/anthropic/models/"+url.PathEscape(req.Model)+":streamRawPredict", body, true)
	if err != nil {
		return nil, err
	}
	return &claudeStream{c: c, body: resp.Body, events: sse.NewDecoder(resp.Body), dec: wire.NewStreamDecoder()}, nil
}

// post sends body to {root}{path} with a Google token; non-2xx answers
// become *llm.Error.
func (c *Client) post(ctx context.Context, path string, body []byte, stream bool) (*http.Response, context.CancelFunc, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.root+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("vertex: new request: %w", err)
	}
	for k, v := range c.headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Content-Type", "application/json")
	if stream {
		hr.Header.Set("Accept", "text/event-stream")
	}
	if err := c.tokens.header(ctx, hr.Header); err != nil {
		return nil, nil, c.authError(err)
	}
	resp, cancel, err := c.http.Do(ctx, hr, stream)
	if err != nil {
		return nil, nil, c.own(err)
	}
	if resp.StatusCode/100 != 2 {
		defer cancel()
		b, _ := provider.ReadBody(resp.Body, maxErrorBody)
		resp.Body.Close()
		// Vertex's own errors use Google's envelope, the model's use
		// Anthropic's; both keep the message in error.message.
		return nil, nil, provider.StatusError(c.info.Name, resp, wire.ErrorMessage(b))
	}
	return resp, cancel, nil
}

func (c *Client) own(err error) error {
	var e *llm.Error
	if errors.As(err, &e) {
		e.Provider = c.info.Name
		if strings.HasPrefix(e.Message, "upstream anthropic") {
			e.Message = "upstream " + c.info.Name + strings.TrimPrefix(e.Message, "upstream anthropic")
		}
	}
	return err
}

// claudeStream reads Anthropic's SSE events from streamRawPredict.
type claudeStream struct {
	c       *Client
	body    io.ReadCloser
	events  *sse.Decoder
	dec     *wire.StreamDecoder
	pending []llm.Chunk
	next    int
	done    bool
	err     error
	once    sync.Once
}

func (s *claudeStream) Recv() (*llm.Chunk, error) {
	for {
		if s.next < len(s.pending) {
			ch := &s.pending[s.next]
			s.next++
			return ch, nil
		}
		if s.err != nil {
			return nil, s.err
		}
		if s.done {
			s.Close()
			return nil, io.EOF
		}
		ev, err := s.events.Next()
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				e := provider.TransportError(context.Background(), err)
				e.Provider = s.c.info.Name
				s.err = e
			} else {
				s.err = provider.StreamCut(s.c.info.Name, err)
			}
			s.Close()
			continue
		}
		chunks, done, err := s.dec.Process(ev.Event, ev.Data)
		if err != nil {
			s.err = s.c.own(err)
			s.Close()
			continue
		}
		s.pending, s.next, s.done = chunks, 0, done
	}
}

func (s *claudeStream) Close() error {
	s.once.Do(func() { s.body.Close() })
	return nil
}
