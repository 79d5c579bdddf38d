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
// URL, not the body, and anthropic_version is a body field. Three fields
// of Anthropic's own API are not Vertex's (docs/providers/vertex.md):
//
//   - inference_geo, a data-residency restriction: on Vertex the location
//     decides where Claude runs
//     (https://platform.claude.com/docs/en/build-with-claude/data-residency),
//     so it is honoured when the location is in that geography and
//     refused otherwise, never dropped;
//   - top-level cache_control (automatic caching) marks the last cacheable
//     block, which is what it means, with a block-level cache_control,
//     which Vertex takes;
//   - service_tier: the encoder sends only "standard_only" (do not use
//     Anthropic's Priority Tier, which is Anthropic's own API's); Vertex
//     defines no service_tier.
func (c *Client) claudeBody(req *llm.ChatRequest) ([]byte, error) {
	if err := c.checkGeo(req.Extra["inference_geo"]); err != nil {
		return nil, err
	}
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
	delete(m, "inference_geo")
	delete(m, "service_tier")
	if cc, ok := m["cache_control"]; ok {
		delete(m, "cache_control")
		if m["messages"], err = markLastBlock(m["messages"], cc); err != nil {
			return nil, fmt.Errorf("vertex: re-encode: %w", err)
		}
	}
	m["anthropic_version"] = json.RawMessage(`"` + AnthropicVersion + `"`)
	return json.Marshal(m)
}

// checkGeo refuses an inference_geo the location does not honour.
// "global" restricts nothing; "us" is honoured by a US location
// (us-east5, ..., or the "us" multi-region). Anything else is refused
// with a 400 naming inference_geo.
func (c *Client) checkGeo(raw json.RawMessage) error {
	if raw == nil {
		return nil
	}
	var geo string
	_ = json.Unmarshal(raw, &geo)
	loc := strings.ToLower(c.location)
	if geo == "global" || geo == "us" && (loc == "us" || strings.HasPrefix(loc, "us-")) {
		return nil
	}
	return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "unsupported_parameter", Param: "inference_geo", Provider: c.info.Name,
		Message: fmt.Sprintf("inference_geo %s cannot be honoured by provider %q: on Vertex AI Claude runs in the provider's location (%q), which is not in that geography", raw, c.info.Name, c.location)}
}

// cacheable are the block types that take a cache_control marker
// (thinking blocks and empty text do not).
var cacheable = map[string]bool{"text": true, "image": true, "document": true, "tool_use": true, "tool_result": true, "search_result": true}

// markLastBlock puts cc on the last cacheable block of the last message
// (a string content becomes one text block), as Anthropic's automatic
// caching does; a block that has a marker already keeps it. A last
// message with no cacheable block is left as it is: there is nothing to
// cache there, which is also what automatic caching would do.
func markLastBlock(msgsRaw, cc json.RawMessage) (json.RawMessage, error) {
	var msgs []map[string]json.RawMessage
	if err := json.Unmarshal(msgsRaw, &msgs); err != nil || len(msgs) == 0 {
		return msgsRaw, err
	}
	last := msgs[len(msgs)-1]
	var blocks []map[string]json.RawMessage
	var text string
	if json.Unmarshal(last["content"], &text) == nil {
		if text == "" {
			return msgsRaw, nil
		}
		blocks = []map[string]json.RawMessage{{"type": json.RawMessage(`"text"`), "text": last["content"]}}
	} else if err := json.Unmarshal(last["content"], &blocks); err != nil {
		return nil, err
	}
	for i := len(blocks) - 1; i >= 0; i-- {
		var typ string
		_ = json.Unmarshal(blocks[i]["type"], &typ)
		if !cacheable[typ] || typ == "text" && string(blocks[i]["text"]) == `""` {
			continue
		}
		if _, has := blocks[i]["cache_control"]; !has {
			blocks[i]["cache_control"] = cc
		}
		content, err := json.Marshal(blocks)
		if err != nil {
			return nil, err
		}
		last["content"] = content
		return json.Marshal(msgs)
	}
	return msgsRaw, nil
}

func (c *Client) claudeChat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	r := *req
	r.Stream = false
	body, err := c.claudeBody(&r)
	if err != nil {
		return nil, err
	}
	resp, cancel, err := c.post(ctx, "/anthropic/models/"+url.PathEscape(req.Model)+":rawPredict", body, req.Betas, false)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := provider.ReadResponse(resp, provider.MaxResponseBytes)
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
	resp, _, err := c.post(ctx, "/anthropic/models/"+url.PathEscape(req.Model)+":streamRawPredict", body, req.Betas, true)
	if err != nil {
		return nil, err
	}
	return &claudeStream{c: c, body: resp.Body, events: sse.NewDecoder(resp.Body), dec: wire.NewStreamDecoder()}, nil
}

// post sends body to {root}{path} with a Google token; non-2xx answers
// become *llm.Error. betas are the client's anthropic-beta values: Claude
// on Vertex reads them from the same header as Anthropic's API (it is
// anthropic-version that moves into the body), and the fields they unlock
// (context_management, output_config, ...) are re-encoded from Extra, so
// without the header Vertex would refuse fields its client opted into; a
// beta Vertex does not offer is refused by Vertex, by name.
func (c *Client) post(ctx context.Context, path string, body []byte, betas []string, stream bool) (*http.Response, context.CancelFunc, error) {
	ctx, cancel := c.http.Deadline(ctx, stream)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.root+path, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("vertex: new request: %w", err)
	}
	for k, v := range c.headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Content-Type", "application/json")
	if len(betas) > 0 {
		hr.Header["Anthropic-Beta"] = betas
	}
	if stream {
		hr.Header.Set("Accept", "text/event-stream")
	}
	if err := c.tokens.header(ctx, hr.Header); err != nil {
		cancel()
		return nil, nil, c.authError(err)
	}
	resp, err := c.http.Send(hr, cancel)
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
