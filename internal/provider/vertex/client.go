// Package vertex is the adapter for Google Vertex AI (type vertex): Gemini
// models through publishers/google/models/{m}:generateContent and
// :streamGenerateContent (the gemini adapter's translation, built by the
// caller with Vertex's URLs and credentials), Anthropic Claude models
// through publishers/anthropic/models/{m}:rawPredict and :streamRawPredict
// (the Messages format of internal/api/anthropic with anthropic_version
// vertex-2023-10-16 and the model in the URL), and text embeddings through
// :predict. Credentials are Google OAuth tokens from a service-account or
// workload-identity JSON file or the application default credentials.
//
// See docs/providers/vertex.md.
package vertex

import (
	"context"
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

const providerType = "vertex"

const maxErrorBody = 64 << 10

// GeminiFactory builds the Gemini adapter for Vertex: endpoint gives the
// URL of a model's method, auth sets the credentials. Adapters never
// import each other, so the caller (internal/app) wires gemini.New in.
// New overwrites the *Info the Gemini half returns with Vertex's, and
// returns that pointer as its own Info, so one permit clears both halves.
type GeminiFactory func(cfg config.Provider, endpoint func(model, method string) string, auth func(context.Context, http.Header) error) (provider.Provider, error)

// Client calls Vertex AI. It is safe for concurrent use.
type Client struct {
	// info is shared with the Gemini half (see New), so that the one
	// permit minted for this upstream passes both.
	info *provider.Info
	root string // {base}/projects/{p}/locations/{l}/publishers
	// location is the Vertex location Claude runs in ("europe-west4",
	// "us-east5", "global"), which decides an inference_geo.
	location string
	gemini   provider.Provider
	tokens   *tokens
	headers  map[string]string
	http     *provider.HTTP
	now      func() time.Time
}

var _ provider.Provider = (*Client)(nil)

// New builds a client. cfg.Vertex.Project and Location are required;
// newGemini builds the Gemini half.
func New(cfg config.Provider, newGemini GeminiFactory) (*Client, error) {
	v := cfg.Vertex
	if v == nil || v.Project == "" || v.Location == "" {
		return nil, fmt.Errorf("vertex: provider %q: vertex.project and vertex.location are required", cfg.Name)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = config.VertexBaseURL(v.Location)
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("vertex: provider %q: base_url %q is not an http(s) URL", cfg.Name, base)
	}
	hosting := provider.Hosting(cfg.Hosting)
	if hosting == "" {
		hosting = provider.Proprietary
	}
	c := &Client{
		info: &provider.Info{Name: cfg.Name, Type: providerType, Hosting: hosting, Region: cfg.Region, Retention: cfg.Retention,
			Caps: provider.Capabilities{Embeddings: true, MultipleChoices: true}},
		root:     base + "/projects/" + url.PathEscape(v.Project) + "/locations/" + url.PathEscape(v.Location) + "/publishers",
		location: v.Location,
		headers:  cfg.Headers,
		now:      time.Now,
	}
	if c.http == nil {
		c.http = provider.NewHTTPFor(cfg.Timeouts)
	}
	c.tokens = newTokens(v, c.http.Client)
	g, err := newGemini(cfg, func(model, method string) string {
		return c.root + "/google/models/" + url.PathEscape(model) + method
	}, c.tokens.header)
	if err != nil {
		return nil, fmt.Errorf("vertex: provider %q: %w", cfg.Name, err)
	}
	// One upstream, one Info: the Gemini half describes itself with
	// Vertex's facts and the same pointer, so a permit minted for this
	// provider (policy.Permit checks the pointer) passes the Gemini half
	// too, and no permit for anything else does.
	gi := g.Info()
	*gi = *c.info
	c.info = gi
	c.gemini = g
	return c, nil
}

// Info describes the provider.
func (c *Client) Info() *provider.Info { return c.info }

// isClaude reports whether a model is Anthropic's (publishers/anthropic).
func isClaude(model string) bool { return strings.HasPrefix(model, "claude") }

// Chat sends Claude models to rawPredict, everything else to Gemini's
// generateContent.
func (c *Client) Chat(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if isClaude(req.Model) {
		return c.claudeChat(ctx, req)
	}
	r, err := c.geminiRequest(req)
	if err != nil {
		return nil, err
	}
	return c.gemini.Chat(ctx, pm, r)
}

// ChatStream sends Claude models to streamRawPredict, everything else to
// Gemini's streamGenerateContent?alt=sse.
func (c *Client) ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (provider.Stream, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if isClaude(req.Model) {
		return c.claudeStream(ctx, req)
	}
	r, err := c.geminiRequest(req)
	if err != nil {
		return nil, err
	}
	return c.gemini.ChatStream(ctx, pm, r)
}

// geminiRequest is req for the Gemini half: an Anthropic client's
// inference_geo, which the Gemini translation refuses (the Gemini API
// cannot promise a geography), is honoured here as for Claude when the
// location is in that geography, and refused by checkGeo otherwise.
func (c *Client) geminiRequest(req *llm.ChatRequest) (*llm.ChatRequest, error) {
	geo := req.Extra["inference_geo"]
	if geo == nil {
		return req, nil
	}
	if err := c.checkGeo(geo); err != nil {
		return nil, err
	}
	r := *req
	r.Unsupported = make([]string, 0, len(req.Unsupported))
	for _, name := range req.Unsupported {
		if name != "inference_geo" {
			r.Unsupported = append(r.Unsupported, name)
		}
	}
	return &r, nil
}

// authError is the client's error when no token could be had.
func (c *Client) authError(err error) *llm.Error {
	return &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "upstream_auth_failed", Provider: c.info.Name,
		Message: fmt.Sprintf("upstream %s: no credentials: %v", c.info.Name, err), Err: err}
}

// Forward refuses: this adapter has no pass-through (Caps.Passthrough is
// empty), so the gateway always translates.
func (c *Client) Forward(ctx context.Context, pm policy.Permit, raw *provider.RawRequest) (*http.Response, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	return nil, provider.NoForward(c.Info())
}
