// Package openai is the adapter for OpenAI and every OpenAI-compatible
// server (vLLM, llama.cpp server, TGI, LM Studio): it sends canonical
// requests as Chat Completions and Embeddings calls, converts the answers
// and streams back, and forwards OpenAI-format bodies untouched on the
// pass-through path.
//
// The wire format itself lives in internal/api/openai; this package adds
// the HTTP client, authentication, error mapping and the stream reader.
// See docs/providers/openai.md.
package openai

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	api "github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

const providerType = "openai"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Client calls an OpenAI-compatible API. It is safe for concurrent use.
type Client struct {
	info    provider.Info
	base    string
	authHdr []string // {"Bearer <key>"}, shared by every request; nil without a key (local servers)
	headers http.Header
	http    *provider.HTTP
	reqOpts api.RequestOptions
	// openaiHost is true for api.openai.com.
	openaiHost bool
	// noReasoning is reasoning.request: none.
	noReasoning bool
	thinkTags   bool
}

var _ provider.Provider = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithRequestOptions sets the request dialect. Default: the token limit is
// sent as max_completion_tokens to api.openai.com (its reasoning models
// reject max_tokens) and as max_tokens to every other server.
func WithRequestOptions(o api.RequestOptions) Option { return func(c *Client) { c.reqOpts = o } }

// New builds a client from a provider config. BaseURL defaults to
// https://api.openai.com/v1; an empty APIKey sends no Authorization header
// (local vLLM or llama.cpp servers often need none).
func New(cfg config.Provider, opts ...Option) (*Client, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = config.DefaultBaseURL(config.TypeOpenAI)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("openai: provider %q: base_url %q is not an http(s) URL", cfg.Name, cfg.BaseURL)
	}
	hosting := provider.Hosting(cfg.Hosting)
	if hosting == "" {
		hosting = provider.Proprietary
	}
	openaiHost := u.Hostname() == "api.openai.com"
	c := &Client{
		base:       base,
		headers:    make(http.Header, len(cfg.Headers)),
		openaiHost: openaiHost,
		reqOpts: api.RequestOptions{MaxCompletionTokens: openaiHost,
			Reasoning: api.ReasoningEffort, AllEfforts: openaiHost,
			ReplayReasoning: u.Hostname() == "api.deepseek.com"},
	}
	if r := cfg.Reasoning; r != nil {
		switch r.Request {
		case "chat_template_kwargs":
			c.reqOpts.Reasoning = api.ReasoningTemplate
		case "none":
			c.reqOpts.Reasoning, c.noReasoning = api.ReasoningOmit, true
		}
		c.thinkTags = r.ThinkTags
		if r.Replay != nil {
			c.reqOpts.ReplayReasoning = *r.Replay
		}
	}
	if cfg.APIKey != "" {
		c.authHdr = []string{"Bearer " + cfg.APIKey}
	}
	for k, v := range cfg.Headers {
		c.headers.Set(k, v)
	}
	c.info = provider.Info{
		Name:      cfg.Name,
		Type:      providerType,
		Hosting:   hosting,
		Region:    cfg.Region,
		Retention: cfg.Retention,
		Caps: provider.Capabilities{
			Embeddings:      true,
			MultipleChoices: true,
			Passthrough:     "openai",
			Responses:       u.Hostname() == "api.openai.com",
		},
	}
	if cfg.Responses != nil {
		c.info.Caps.Responses = *cfg.Responses
	}
	if c.thinkTags || c.reqOpts.Reasoning != api.ReasoningEffort {
		// The server's reasoning needs translating both ways (tags to
		// reasoning_content, efforts to chat_template_kwargs, refusals):
		// OpenAI-format requests take the translated path too.
		c.info.Caps.Passthrough = ""
	}
	c.info.Caps.Completions = hosting == provider.SelfHosted
	if cfg.Completions != nil {
		c.info.Caps.Completions = *cfg.Completions
	}
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

// check refuses what the translated path cannot carry: parameters the
// ingress decoder only named (their values are not in the canonical
// request, so they would be silently dropped).
func (c *Client) check(req *llm.ChatRequest) error {
	for _, name := range req.Unsupported {
		if !req.ReasoningParam(name) {
			return llm.Unsupported(c.info.Name, name)
		}
	}
	return nil
}

// reasoning decides what of the request's reasoning the upstream gets
// (docs/providers/openai.md): all of it, unless the model cannot reason
// (reasoning.request: none, or an api.openai.com model outside the
// reasoning families), when a hint or a request to disable reasoning is
// dropped — the answer is what they allow — and an explicit request is
// refused. api.openai.com gets explicit requests whatever the model: it
// answers for its own models better than a list of names can.
func (c *Client) reasoning(r *llm.ChatRequest) error {
	rs := r.Reasoning
	if rs == nil {
		return nil
	}
	switch {
	case c.noReasoning && rs.Explicit():
		return llm.Unsupported(c.info.Name, rs.Param)
	case c.noReasoning, c.openaiHost && !rs.Explicit() && !openAIReasons(r.Model):
		r.Reasoning = nil
	}
	return nil
}

// openAIReasons reports whether an OpenAI model takes reasoning_effort:
// the o-series, gpt-5 (but not its chat snapshots), gpt-oss and codex.
func openAIReasons(model string) bool {
	for _, p := range [...]string{"o1", "o3", "o4", "gpt-5", "gpt-oss", "codex"} {
		if strings.HasPrefix(model, p) {
			return !strings.Contains(model, "-chat")
		}
	}
	return false
}

// Chat calls POST /chat/completions.
func (c *Client) Chat(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if err := c.check(req); err != nil {
		return nil, err
	}
	r := *req
	r.Stream, r.IncludeUsage = false, false
	if err := c.reasoning(&r); err != nil {
		return nil, err
	}
	body, err := api.EncodeChatRequestWith(&r, c.reqOpts)
	if err != nil {
		return nil, err
	}
	b, err := c.call(ctx, "/chat/completions", body)
	if err != nil {
		return nil, err
	}
	resp, err := api.DecodeChatResponse(b)
	if err != nil {
		return nil, c.annotate(err)
	}
	if c.thinkTags {
		api.SplitThinkTags(resp)
	}
	return resp, nil
}

// ChatStream calls POST /chat/completions with stream: true, always asking
// for the usage chunk.
func (c *Client) ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (provider.Stream, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if err := c.check(req); err != nil {
		return nil, err
	}
	r := *req
	r.Stream = true
	if err := c.reasoning(&r); err != nil {
		return nil, err
	}
	body, err := api.EncodeChatRequestWith(&r, c.reqOpts)
	if err != nil {
		return nil, err
	}
	resp, _, err := c.post(ctx, "/chat/completions", body, nil, true)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, c.MapError(resp)
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		// An error object with status 200, which some servers send for
		// failures found after the headers were decided.
		b, _ := provider.ReadBody(resp.Body, maxErrorBody)
		resp.Body.Close()
		return nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "bad_upstream_response", Provider: c.info.Name,
			Message: fmt.Sprintf("upstream %s: answered a stream request with JSON: %s", c.info.Name, api.ErrorMessage(b))}
	}
	s := newStream(c.info.Name, resp.Body)
	if c.thinkTags {
		s.conv.SplitThinkTags()
	}
	return s, nil
}

// Embed calls POST /embeddings.
func (c *Client) Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	body, err := api.EncodeEmbedRequest(req)
	if err != nil {
		return nil, err
	}
	b, err := c.call(ctx, "/embeddings", body)
	if err != nil {
		return nil, err
	}
	resp, err := api.DecodeEmbedResponse(b)
	if err != nil {
		return nil, c.annotate(err)
	}
	if resp.Model == "" {
		resp.Model = req.Model
	}
	return resp, nil
}

// call posts a non-streaming request and returns the 2xx body.
func (c *Client) call(ctx context.Context, path string, body []byte) ([]byte, error) {
	resp, cancel, err := c.post(ctx, path, body, nil, false)
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
		e := provider.TransportError(ctx, err)
		e.Provider = c.info.Name
		return nil, e
	}
	return b, nil
}

// hopHeaders are never forwarded from a client: connection-level headers,
// credentials (the provider's own are sent), and encodings (bodies are
// metered, so they travel uncompressed).
var hopHeaders = map[string]bool{
	"Authorization": true, "Api-Key": true, "X-Api-Key": true, "Cookie": true,
	"Host": true, "Content-Length": true, "Content-Type": true, "Accept-Encoding": true,
	"Connection": true, "Keep-Alive": true, "Proxy-Authorization": true, "Proxy-Connection": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// post sends body to base+path with the provider's headers.
func (c *Client) post(ctx context.Context, path string, body []byte, extra http.Header, stream bool) (*http.Response, context.CancelFunc, error) {
	// The request is built with the call's own deadline context: Do's
	// req.WithContext would copy it.
	ctx, cancel := c.http.Deadline(ctx, stream)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("openai: provider %q: %w", c.info.Name, err)
	}
	for k, vs := range extra {
		if !hopHeaders[http.CanonicalHeaderKey(k)] {
			req.Header[http.CanonicalHeaderKey(k)] = vs
		}
	}
	// Shared value slices: Header.Set would allocate one per header per
	// request; nothing modifies a header value in place.
	req.Header["Content-Type"] = hdrJSON
	if stream {
		req.Header["Accept"] = hdrEventStream
	} else {
		req.Header["Accept"] = hdrJSON
	}
	if c.authHdr != nil {
		req.Header["Authorization"] = c.authHdr
	}
	for k, vs := range c.headers {
		req.Header[k] = vs
	}
	resp, err := c.http.Send(req, cancel)
	if err != nil {
		var e *llm.Error
		if errors.As(err, &e) {
			e.Provider = c.info.Name
		}
		return nil, nil, err
	}
	return resp, cancel, nil
}

// Forward is the pass-through call: raw.Body goes to base+raw.Path as is,
// with the provider's credentials and headers, and the upstream's response
// comes back unread, whatever its status (MapError turns a non-2xx one into
// an *llm.Error). The caller closes the body.
func (c *Client) Forward(ctx context.Context, pm policy.Permit, raw *provider.RawRequest) (*http.Response, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	resp, cancel, err := c.post(ctx, raw.Path, raw.Body, raw.Header, raw.Stream)
	if err != nil {
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody releases the total-timeout context of a non-streaming
// forwarded call when the caller closes the body.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// MapError reads and closes a non-2xx response's body and returns the
// error to give the client: the upstream's status and message, its
// Retry-After, and a 502 instead of a 401/403 (the gateway's credentials
// failed, not the client's).
func (c *Client) MapError(resp *http.Response) *llm.Error {
	b, _ := provider.ReadBody(resp.Body, maxErrorBody)
	resp.Body.Close()
	e := provider.StatusError(c.info.Name, resp, api.ErrorMessage(b))
	param, code := api.ErrorFields(b)
	provider.UpstreamFields(e, param, code)
	return e
}

// annotate marks an error from the wire decoder as this provider's.
func (c *Client) annotate(err error) error {
	var e *llm.Error
	if errors.As(err, &e) {
		e.Provider = c.info.Name
		e.Message = fmt.Sprintf("upstream %s: %s", c.info.Name, e.Message)
	}
	return err
}

var (
	hdrJSON        = []string{"application/json"}
	hdrEventStream = []string{"text/event-stream"}
)
