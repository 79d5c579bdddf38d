// Package ollama is the adapter for Ollama's native API (/api/chat,
// /api/embed, /api/tags): its wire types, the pure translation to and from
// Fulcrum's canonical model, the NDJSON stream converter, and the HTTP
// client.
//
// Ollama also serves an OpenAI-compatible /v1 API, which the openai adapter
// can use; the native API is used here because it reports token counts on
// every answer (streamed or not), takes images as plain base64, and lets
// ListModels discover the installed models. See docs/providers/ollama.md.
package ollama

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

const providerType = "ollama"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Client calls an Ollama server. It is safe for concurrent use.
type Client struct {
	info    provider.Info
	base    string
	key     string
	headers map[string]string
	http    *provider.HTTP
	now     func() time.Time
	id      ids
	// noReasoning is reasoning.request: none; thinkTags reasoning.think_tags.
	noReasoning, thinkTags bool
}

var _ provider.Provider = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithClock sets the clock used when Ollama's created_at is missing.
// Default time.Now.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithIDs sets the generator of unique ID suffixes; response IDs are
// "chatcmpl-" and tool call IDs "call_" followed by one. Default: 24
// random hex digits.
func WithIDs(next func() string) Option { return func(c *Client) { c.id = ids{next: next} } }

// New builds a client from a provider config. BaseURL defaults to
// http://127.0.0.1:11434. Ollama needs no key; when APIKey is set (a proxy
// or ollama.com in front) it is sent as a bearer token.
func New(cfg config.Provider, opts ...Option) (*Client, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = config.DefaultBaseURL(config.TypeOllama)
	}
	if u, err := url.Parse(base); err != nil || u.Host == "" {
		return nil, fmt.Errorf("ollama: provider %q: base_url %q is not a URL", cfg.Name, base)
	}
	hosting := provider.Hosting(cfg.Hosting)
	if hosting == "" {
		hosting = provider.SelfHosted
	}
	c := &Client{
		info: provider.Info{
			Name:      cfg.Name,
			Type:      providerType,
			Hosting:   hosting,
			Region:    cfg.Region,
			Retention: cfg.Retention,
			Caps:      provider.Capabilities{Embeddings: true},
		},
		base:    base,
		key:     cfg.APIKey,
		headers: cfg.Headers,
		now:     time.Now,
		id:      ids{next: randomHex},
	}
	if r := cfg.Reasoning; r != nil {
		c.noReasoning, c.thinkTags = r.Request == "none", r.ThinkTags
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

// Chat calls /api/chat with stream: false.
func (c *Client) Chat(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	body, err := c.encode(req, false)
	if err != nil {
		return nil, err
	}
	var r chatResponse
	if err := c.call(ctx, http.MethodPost, "/api/chat", body, &r); err != nil {
		return nil, err
	}
	if r.Error != "" {
		return nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "upstream_error",
			Message: "upstream " + c.info.Name + ": " + r.Error, Provider: c.info.Name}
	}
	resp := fromResponse(&r, c.now(), c.id)
	if c.thinkTags {
		splitThinkTags(resp)
	}
	return provider.KeepFirstToolCall(req, resp), nil
}

// ChatStream calls /api/chat with stream: true.
func (c *Client) ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (provider.Stream, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	body, err := c.encode(req, true)
	if err != nil {
		return nil, err
	}
	resp, _, err := c.send(ctx, http.MethodPost, "/api/chat", body, true)
	if err != nil {
		return nil, err
	}
	conv := converter{id: c.id, now: c.now()}
	if c.thinkTags {
		conv.think = &llm.ThinkSplitter{}
	}
	return provider.FirstToolCallStream(req, newStream(c.info.Name, resp, conv)), nil
}

// Embed calls /api/embed with all inputs in one request.
func (c *Client) Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if len(req.Tokens) > 0 {
		return nil, llm.Unsupported(providerType, "input (token arrays)")
	}
	body, err := json.Marshal(&embedRequest{Model: req.Model, Input: req.Input, Dimensions: req.Dimensions})
	if err != nil {
		return nil, fmt.Errorf("ollama: encode embed request: %w", err)
	}
	var r embedResponse
	if err := c.call(ctx, http.MethodPost, "/api/embed", body, &r); err != nil {
		return nil, err
	}
	if len(r.Embeddings) != len(req.Input) {
		return nil, malformed(c.info.Name, fmt.Errorf("%d embeddings for %d inputs", len(r.Embeddings), len(req.Input)))
	}
	out := &llm.EmbedResponse{Model: req.Model, Vectors: r.Embeddings}
	if r.PromptEvalCount != nil {
		out.Usage = &llm.Usage{InputTokens: *r.PromptEvalCount}
	}
	return out, nil
}

// ListModels returns the names of the models installed on the server (GET
// /api/tags), e.g. "llama3.2:latest". The gateway calls it at start when no
// models are configured for this provider.
func (c *Client) ListModels(ctx context.Context) ([]string, error) {
	var r tagsResponse
	if err := c.call(ctx, http.MethodGet, "/api/tags", nil, &r); err != nil {
		return nil, fmt.Errorf("ollama: list models: %w", err)
	}
	names := make([]string, 0, len(r.Models))
	for _, m := range r.Models {
		n := m.Name
		if n == "" {
			n = m.Model
		}
		names = append(names, n)
	}
	return names, nil
}

func (c *Client) encode(req *llm.ChatRequest, stream bool) ([]byte, error) {
	or, err := toRequest(req)
	if err != nil {
		return nil, err
	}
	or.Stream = stream
	if or.Think, err = think(req, c.info.Name, c.noReasoning); err != nil {
		return nil, err
	}
	b, err := json.Marshal(or)
	if err != nil {
		return nil, fmt.Errorf("ollama: encode request: %w", err)
	}
	return b, nil
}

// call sends a non-streaming request and decodes the JSON answer into v.
func (c *Client) call(ctx context.Context, method, path string, body []byte, v any) error {
	resp, cancel, err := c.send(ctx, method, path, body, false)
	if err != nil {
		return err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := provider.ReadResponse(resp, provider.MaxResponseBytes)
	if err != nil {
		te := provider.TransportError(ctx, err)
		te.Provider = c.info.Name
		if te.Status == http.StatusBadGateway {
			te.Code = "upstream_body_cut"
			te.Message = "upstream " + c.info.Name + " ended the response before it was complete"
		}
		return te
	}
	if err := json.Unmarshal(b, v); err != nil {
		return malformed(c.info.Name, err)
	}
	return nil
}

// send returns a 2xx response; other statuses become *llm.Error from
// Ollama's {"error": "..."} body. The caller closes the body and calls cancel.
func (c *Client) send(ctx context.Context, method, path string, body []byte, stream bool) (*http.Response, context.CancelFunc, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	ctx, cancel := c.http.Deadline(ctx, stream)
	hr, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("ollama: new request: %w", err)
	}
	for k, v := range c.headers {
		hr.Header.Set(k, v)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		hr.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Send(hr, cancel)
	if err != nil {
		var le *llm.Error
		if errors.As(err, &le) {
			le.Provider = c.info.Name
		}
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		b, _ := provider.ReadBody(resp.Body, maxErrorBody)
		resp.Body.Close()
		cancel()
		var eb errorBody
		_ = json.Unmarshal(b, &eb)
		return nil, nil, provider.StatusError(c.info.Name, resp, eb.Error)
	}
	return resp, cancel, nil
}

func randomHex() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// splitThinkTags moves reasoning written as <think>...</think> (Ollama
// versions before thinking support, or models it does not parse) out of
// the answer text into its thoughts.
func splitThinkTags(resp *llm.ChatResponse) {
	m := &resp.Choices[0].Message
	if len(m.Content) == 0 {
		return
	}
	r, a := llm.SplitThink(m.Text())
	if r != "" {
		m.Thoughts = append(m.Thoughts, llm.Thought{Text: r})
	}
	m.Content = []llm.Part{{Type: llm.PartText, Text: a}}
}

// Forward refuses: this adapter has no pass-through (Caps.Passthrough is
// empty), so the gateway always translates.
func (c *Client) Forward(ctx context.Context, pm policy.Permit, raw *provider.RawRequest) (*http.Response, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	return nil, provider.NoForward(c.Info())
}
