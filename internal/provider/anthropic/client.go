// Package anthropic is the provider adapter for the Anthropic Messages API
// (https://docs.anthropic.com/en/api/messages): it sends canonical requests
// to an Anthropic upstream, streams the answers back as canonical chunks,
// and forwards Anthropic-format bodies untouched on the pass-through path.
//
// The wire format and its translation live in internal/api/anthropic; this
// package adds only HTTP. See docs/providers/anthropic.md.
package anthropic

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	wire "github.com/fulcrumhq/fulcrum/internal/api/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

const providerType = "anthropic"

// DefaultAPIVersion is sent as anthropic-version when the config sets none.
const DefaultAPIVersion = "2023-06-01"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Client calls an Anthropic upstream. It is safe for concurrent use.
type Client struct {
	info provider.Info
	base string
	// The header values every request sends, built once and shared (no
	// request modifies a value in place): Header.Set allocated a slice
	// for each, a request.
	headers    http.Header // the configured extra headers, canonical keys
	versionHdr []string    // {anthropic-version}
	keyHdr     []string    // {api key}; nil without a key
	http       *provider.HTTP
	now        func() time.Time
}

var _ provider.Provider = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithClock sets the clock used for ChatResponse.Created (Anthropic sends
// no creation time). Default time.Now.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New builds a client from a provider config. BaseURL defaults to
// https://api.anthropic.com/v1, APIVersion to 2023-06-01. An empty APIKey
// is allowed (a proxy in front may add it) but Anthropic itself answers 401.
func New(cfg config.Provider, opts ...Option) (*Client, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = config.DefaultBaseURL(config.TypeAnthropic)
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("anthropic: provider %q: base_url %q is not an http(s) URL", cfg.Name, base)
	}
	hosting := provider.Hosting(cfg.Hosting)
	if hosting == "" {
		hosting = provider.Proprietary
	}
	version := cfg.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	c := &Client{
		info: provider.Info{
			Name:      cfg.Name,
			Type:      providerType,
			Hosting:   hosting,
			Region:    cfg.Region,
			Retention: cfg.Retention,
		},
		base:       base,
		headers:    make(http.Header, len(cfg.Headers)),
		versionHdr: []string{version},
		now:        time.Now,
	}
	for k, v := range cfg.Headers {
		c.headers[http.CanonicalHeaderKey(k)] = []string{v}
	}
	if cfg.APIKey != "" {
		c.keyHdr = []string{cfg.APIKey}
	}
	c.info.Caps = provider.Capabilities{Passthrough: "anthropic"}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = provider.NewHTTPFor(cfg.Timeouts)
	}
	return c, nil
}

// Info describes the provider.
func (c *Client) Info() *provider.Info { return &c.info }

// Chat sends a non-streaming request to POST /messages.
func (c *Client) Chat(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	r := *req
	r.Stream = false
	body, err := c.encode(&r)
	if err != nil {
		return nil, err
	}
	resp, cancel, err := c.post(ctx, "/messages", body, betas(req), false)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, c.MapError(resp)
	}
	b, err := provider.ReadResponse(resp, provider.MaxResponseBytes)
	if err != nil {
		return nil, c.readError(ctx, err)
	}
	out, err := wire.DecodeMessagesResponse(b)
	if err != nil {
		return nil, c.own(err)
	}
	out.Created = c.now().Unix()
	return out, nil
}

// ChatStream sends a streaming request to POST /messages.
func (c *Client) ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (provider.Stream, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	r := *req
	r.Stream = true
	body, err := c.encode(&r)
	if err != nil {
		return nil, err
	}
	resp, _, err := c.post(ctx, "/messages", body, betas(req), true)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, c.MapError(resp)
	}
	return newStream(c, resp), nil
}

// betas is the client's anthropic-beta header for the translated path:
// the same features asked for as on pass-through (Forward), so a request
// that policy redacted or that is cached or sampled is not answered by a
// model without the output limit, context window or context management
// its client opted into (and whose fields, kept in Extra, need the flag).
func betas(req *llm.ChatRequest) http.Header {
	if len(req.Betas) == 0 {
		return nil
	}
	return http.Header{"Anthropic-Beta": req.Betas}
}

// Embed always fails: Anthropic has no embeddings endpoint.
func (c *Client) Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	return nil, &llm.Error{
		Status:   http.StatusBadRequest,
		Type:     llm.ErrInvalidRequest,
		Code:     "embeddings_unsupported",
		Param:    "model",
		Provider: c.info.Name,
		Message:  fmt.Sprintf("provider %q (anthropic) has no embeddings", c.info.Name),
		Err:      provider.ErrNoEmbeddings,
	}
}

// Forward sends a client's Anthropic body unchanged (the caller has already
// rewritten the model) to the provider's API root + raw.Path, with the
// provider's own key and anthropic-version, and the client's anthropic-beta
// header. The response is returned unread; the caller closes its body.
func (c *Client) Forward(ctx context.Context, pm policy.Permit, raw *provider.RawRequest) (*http.Response, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	var extra http.Header
	if v := raw.Header.Values("anthropic-beta"); len(v) > 0 {
		extra = http.Header{"Anthropic-Beta": v}
	}
	// Unsigned thinking blocks (relayed from a provider that signs
	// nothing) are removed: Anthropic rejects them. Removal only, after
	// the policy scan, so the forwarded body stays within what was scanned.
	resp, cancel, err := c.post(ctx, raw.Path, wire.DropUnsignedThinking(raw.Body), extra, raw.Stream)
	if err != nil {
		return nil, err
	}
	// The total timeout of a non-streamed call lasts until the caller has
	// read the body.
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// MapError reads and closes an upstream non-2xx response and returns the
// error for it: the upstream's message, its status (529 becomes 503),
// Retry-After passed on, auth failures turned into a 502.
func (c *Client) MapError(resp *http.Response) *llm.Error {
	b, _ := provider.ReadBody(resp.Body, maxErrorBody)
	resp.Body.Close()
	return provider.StatusError(c.info.Name, resp, wire.ErrorMessage(b))
}

func (c *Client) encode(req *llm.ChatRequest) ([]byte, error) {
	b, err := wire.EncodeMessagesRequest(req)
	if err != nil {
		return nil, c.own(err)
	}
	return b, nil
}

// post sends body to c.base+path with the provider's headers.
func (c *Client) post(ctx context.Context, path string, body []byte, extra http.Header, stream bool) (*http.Response, context.CancelFunc, error) {
	// The request is built with the call's own deadline context: Do's
	// req.WithContext would copy it.
	ctx, cancel := c.http.Deadline(ctx, stream)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("anthropic: provider %q: build request: %w", c.info.Name, err)
	}
	h := hr.Header
	for k, v := range c.headers {
		h[k] = v
	}
	for k, v := range extra {
		h[k] = v
	}
	h["Content-Type"] = hdrJSON
	h["Anthropic-Version"] = c.versionHdr
	if c.keyHdr != nil {
		h["X-Api-Key"] = c.keyHdr
	}
	if stream {
		h["Accept"] = hdrEventStream
	} else {
		h["Accept"] = hdrJSON
	}
	resp, err := c.http.Send(hr, cancel)
	if err != nil {
		return nil, nil, c.own(err)
	}
	return resp, cancel, nil
}

var (
	hdrJSON        = []string{"application/json"}
	hdrEventStream = []string{"text/event-stream"}
)

// readError maps a failure while reading a body.
func (c *Client) readError(ctx context.Context, err error) *llm.Error {
	e := provider.TransportError(ctx, err)
	e.Provider = c.info.Name
	return e
}

// own sets the provider name on an *llm.Error.
func (c *Client) own(err error) error {
	if e, ok := err.(*llm.Error); ok {
		e.Provider = c.info.Name
		if strings.HasPrefix(e.Message, "upstream anthropic") {
			e.Message = "upstream " + c.info.Name + strings.TrimPrefix(e.Message, "upstream anthropic")
		}
		return e
	}
	return err
}

// cancelBody releases a call's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
