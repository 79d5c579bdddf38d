// Package gemini is the adapter for Google's Gemini API
// (generativelanguage.googleapis.com, v1beta): its wire types, the pure
// translation to and from Fulcrum's canonical model, the SSE stream
// converter, and the HTTP client.
//
// Gemini is an egress-only format: clients speak OpenAI or Anthropic to
// Fulcrum, and this package speaks Gemini to Google. See
// docs/providers/gemini.md for the mapping and its limits.
package gemini

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

const providerType = "gemini"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Client calls the Gemini API. It is safe for concurrent use.
type Client struct {
	info    provider.Info
	base    string
	key     string
	headers map[string]string
	http    *provider.HTTP
	now     func() time.Time
	newID   func() string
	// endpoint and auth, when set, replace the Gemini API's URLs and key
	// (Gemini on Vertex AI).
	endpoint func(model, method string) string
	auth     func(ctx context.Context, h http.Header) error
}

var _ provider.Provider = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithClock sets the clock used for ChatResponse.Created. Default time.Now.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithIDs sets the generator of tool call IDs (and of response IDs when
// Gemini sends none). Default: "call_" and 24 random hex digits.
func WithIDs(newID func() string) Option { return func(c *Client) { c.newID = newID } }

// WithEndpoint replaces the URL of each call: method is
// ":generateContent" or ":streamGenerateContent?alt=sse". The vertex type
// uses it to reach publishers/google/models on Vertex AI with the same
// translation.
func WithEndpoint(url func(model, method string) string) Option {
	return func(c *Client) { c.endpoint = url }
}

// WithAuth replaces the x-goog-api-key header with auth's credentials
// (a Google OAuth bearer token for Vertex AI); APIKey is then not needed.
func WithAuth(auth func(ctx context.Context, h http.Header) error) Option {
	return func(c *Client) { c.auth = auth }
}

// New builds a client from a provider config. BaseURL defaults to
// https://generativelanguage.googleapis.com/v1beta; APIKey is required
// unless WithAuth is given.
func New(cfg config.Provider, opts ...Option) (*Client, error) {
	if cfg.APIKey == "" && !hasAuth(opts) {
		return nil, fmt.Errorf("gemini: provider %q: api_key is required", cfg.Name)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = config.DefaultBaseURL(config.TypeGemini)
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("gemini: provider %q: base_url: %w", cfg.Name, err)
	}
	hosting := provider.Hosting(cfg.Hosting)
	if hosting == "" {
		hosting = provider.Proprietary
	}
	c := &Client{
		info: provider.Info{
			Name:      cfg.Name,
			Type:      providerType,
			Hosting:   hosting,
			Region:    cfg.Region,
			Retention: cfg.Retention,
			Caps:      provider.Capabilities{Embeddings: true, MultipleChoices: true},
		},
		base:    base,
		key:     cfg.APIKey,
		headers: cfg.Headers,
		now:     time.Now,
		newID:   randomID,
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = provider.NewHTTPFor(cfg.Timeouts)
	}
	return c, nil
}

func hasAuth(opts []Option) bool {
	var c Client
	for _, o := range opts {
		o(&c)
	}
	return c.auth != nil
}

// Info describes the provider.
func (c *Client) Info() *provider.Info { return &c.info }

// Chat calls models/{model}:generateContent.
func (c *Client) Chat(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	body, err := c.encode(req)
	if err != nil {
		return nil, err
	}
	resp, cancel, err := c.post(ctx, c.modelURL(req.Model, ":generateContent"), body, false)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := provider.ReadBody(resp.Body, provider.MaxResponseBytes)
	if err != nil {
		return nil, c.readError(ctx, err)
	}
	var gr generateResponse
	if err := json.Unmarshal(b, &gr); err != nil {
		return nil, malformed(c.info.Name, err)
	}
	return provider.KeepFirstToolCall(req, fromResponse(&gr, req.Model, c.now().Unix(), c.newID)), nil
}

// ChatStream calls models/{model}:streamGenerateContent?alt=sse.
func (c *Client) ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (provider.Stream, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	body, err := c.encode(req)
	if err != nil {
		return nil, err
	}
	resp, _, err := c.post(ctx, c.modelURL(req.Model, ":streamGenerateContent?alt=sse"), body, true)
	if err != nil {
		return nil, err
	}
	return provider.FirstToolCallStream(req, newStream(c.info.Name, resp, converter{model: req.Model, newID: c.newID})), nil
}

// Embed calls models/{model}:batchEmbedContents. Gemini reports no token
// usage for embeddings, so Usage is nil (the meter estimates it).
func (c *Client) Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if len(req.Tokens) > 0 {
		return nil, llm.Unsupported(providerType, "input (token arrays)")
	}
	model := "models/" + strings.TrimPrefix(req.Model, "models/")
	br := batchEmbedRequest{Requests: make([]embedRequest, len(req.Input))}
	for i, in := range req.Input {
		br.Requests[i] = embedRequest{
			Model:                model,
			Content:              content{Parts: []part{{Text: in}}},
			OutputDimensionality: req.Dimensions,
		}
	}
	body, err := json.Marshal(&br)
	if err != nil {
		return nil, fmt.Errorf("gemini: encode embed request: %w", err)
	}
	resp, cancel, err := c.post(ctx, c.modelURL(req.Model, ":batchEmbedContents"), body, false)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := provider.ReadBody(resp.Body, provider.MaxResponseBytes)
	if err != nil {
		return nil, c.readError(ctx, err)
	}
	var er batchEmbedResponse
	if err := json.Unmarshal(b, &er); err != nil {
		return nil, malformed(c.info.Name, err)
	}
	if len(er.Embeddings) != len(req.Input) {
		return nil, malformed(c.info.Name, fmt.Errorf("%d embeddings for %d inputs", len(er.Embeddings), len(req.Input)))
	}
	out := &llm.EmbedResponse{Model: req.Model, Vectors: make([][]float32, len(er.Embeddings))}
	for i := range er.Embeddings {
		out.Vectors[i] = er.Embeddings[i].Values
	}
	return out, nil
}

func (c *Client) encode(req *llm.ChatRequest) ([]byte, error) {
	gr, err := toRequest(req)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(gr)
	if err != nil {
		return nil, fmt.Errorf("gemini: encode request: %w", err)
	}
	return b, nil
}

// modelURL builds {base}/models/{model}{method}; a model given as
// "models/x" is accepted too.
func (c *Client) modelURL(model, method string) string {
	model = strings.TrimPrefix(model, "models/")
	if c.endpoint != nil {
		return c.endpoint(model, method)
	}
	return c.base + "/models/" + url.PathEscape(model) + method
}

// post sends a JSON body and returns a 2xx response; other statuses become
// *llm.Error. The caller closes the body and calls cancel.
func (c *Client) post(ctx context.Context, u string, body []byte, stream bool) (*http.Response, context.CancelFunc, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("gemini: new request: %w", err)
	}
	for k, v := range c.headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Content-Type", "application/json")
	if c.auth != nil {
		if err := c.auth(ctx, hr.Header); err != nil {
			return nil, nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "upstream_auth_failed", Provider: c.info.Name,
				Message: fmt.Sprintf("upstream %s: no credentials: %v", c.info.Name, err), Err: err}
		}
	} else {
		hr.Header.Set("x-goog-api-key", c.key)
	}
	resp, cancel, err := c.http.Do(ctx, hr, stream)
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
		return nil, nil, statusError(c.info.Name, resp, b)
	}
	return resp, cancel, nil
}

// readError maps a failed body read: a cancelled or timed-out call, or a
// body cut half-way.
func (c *Client) readError(ctx context.Context, err error) error {
	te := provider.TransportError(ctx, err)
	te.Provider = c.info.Name
	if te.Status == http.StatusBadGateway {
		te.Code = "upstream_body_cut"
		te.Message = "upstream " + c.info.Name + " ended the response before it was complete"
	}
	return te
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "call_" + hex.EncodeToString(b[:])
}

// Forward refuses: this adapter has no pass-through (Caps.Passthrough is
// empty), so the gateway always translates.
func (c *Client) Forward(ctx context.Context, pm policy.Permit, raw *provider.RawRequest) (*http.Response, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	return nil, provider.NoForward(c.Info())
}
