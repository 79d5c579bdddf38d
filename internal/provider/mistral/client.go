// Package mistral is the adapter for Mistral's La Plateforme API (type
// mistral; default https://api.mistral.ai/v1, hosted in the EU). The wire
// format is OpenAI's (internal/api/openai) with Mistral's differences
// handled here: tool call IDs must be nine characters of [a-zA-Z0-9]
// (other IDs are mapped to such IDs and back), the seed is random_seed,
// fields Mistral rejects (stream_options, user) are not sent,
// safe_prompt is set from the config, and reasoning is reasoning_effort
// for the models that take it (reasoning.go). See
// docs/providers/mistral.md.
package mistral

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	api "github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/oaicompat"
)

const providerType = "mistral"

// DefaultBaseURL is La Plateforme's API root.
const DefaultBaseURL = "https://api.mistral.ai/v1"

const maxErrorBody = 64 << 10

// Client calls the Mistral API. It is safe for concurrent use.
type Client struct {
	info       provider.Info
	base       string
	auth       string
	safePrompt bool
	headers    map[string]string
	http       *provider.HTTP
	ids        *idMap
}

var _ provider.Provider = (*Client)(nil)

// New builds a client. cfg.APIKey is sent as a Bearer token.
func New(cfg config.Provider) (*Client, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mistral: provider %q: base_url %q is not an http(s) URL", cfg.Name, base)
	}
	hosting := provider.Hosting(cfg.Hosting)
	if hosting == "" {
		hosting = provider.Proprietary
	}
	c := &Client{
		info: provider.Info{Name: cfg.Name, Type: providerType, Hosting: hosting, Region: cfg.Region, Retention: cfg.Retention,
			Caps: provider.Capabilities{Embeddings: true, MultipleChoices: true}},
		base:    base,
		headers: cfg.Headers,
		ids:     newIDMap(4096),
	}
	if cfg.APIKey != "" {
		c.auth = "Bearer " + cfg.APIKey
	}
	if cfg.Mistral != nil {
		c.safePrompt = cfg.Mistral.SafePrompt
	}
	if c.http == nil {
		c.http = provider.NewHTTPFor(cfg.Timeouts)
	}
	return c, nil
}

// Info describes the provider.
func (c *Client) Info() *provider.Info { return &c.info }

// Chat calls POST /chat/completions.
func (c *Client) Chat(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	body, err := c.encode(req, false)
	if err != nil {
		return nil, err
	}
	resp, cancel, err := c.post(ctx, "/chat/completions", body, false)
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
	out, err := api.DecodeChatResponse(b)
	if err != nil {
		return nil, c.own(err)
	}
	for i := range out.Choices {
		for j := range out.Choices[i].Message.ToolCalls {
			tc := &out.Choices[i].Message.ToolCalls[j]
			tc.ID = c.ids.original(tc.ID)
		}
	}
	return out, nil
}

// ChatStream calls POST /chat/completions with stream: true (Mistral
// always ends a stream with usage).
func (c *Client) ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (provider.Stream, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	body, err := c.encode(req, true)
	if err != nil {
		return nil, err
	}
	resp, _, err := c.post(ctx, "/chat/completions", body, true)
	if err != nil {
		return nil, err
	}
	return &stream{Stream: oaicompat.NewStream(c.info.Name, resp.Body), ids: c.ids}, nil
}

// Embed calls POST /embeddings (mistral-embed, codestral-embed).
func (c *Client) Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	r := *req
	r.User = ""
	body, err := api.EncodeEmbedRequest(&r)
	if err != nil {
		return nil, err
	}
	if req.Dimensions != nil {
		// Mistral names it output_dimension.
		body, err = rename(body, "dimensions", "output_dimension")
		if err != nil {
			return nil, err
		}
	}
	resp, cancel, err := c.post(ctx, "/embeddings", body, false)
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
	out, err := api.DecodeEmbedResponse(b)
	if err != nil {
		return nil, c.own(err)
	}
	if out.Model == "" {
		out.Model = req.Model
	}
	return out, nil
}

// encode translates a request with Mistral's differences.
func (c *Client) encode(req *llm.ChatRequest, stream bool) ([]byte, error) {
	for _, name := range req.Unsupported {
		// The field that asked for reasoning is translated below.
		if !req.ReasoningParam(name) {
			return nil, llm.Unsupported(c.info.Name, name)
		}
	}
	if req.TopK != nil {
		// Mistral has no top_k and answers it with a 422
		// extra_forbidden; refused here by name.
		return nil, llm.Unsupported(c.info.Name, "top_k")
	}
	effort, err := reasoningEffort(c.info.Name, req)
	if err != nil {
		return nil, err
	}
	r := *req
	r.Stream, r.IncludeUsage, r.User = stream, false, ""
	r.Messages = c.ids.shorten(req.Messages)
	b, err := api.EncodeChatRequestWith(&r, api.RequestOptions{})
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("mistral: re-encode: %w", err)
	}
	delete(m, "stream_options")
	delete(m, "user")
	// The encoder writes service_tier only as "default" (a client's
	// "default" or Anthropic's "standard_only"): Mistral has one tier, the
	// standard one, and refuses fields it does not know.
	delete(m, "service_tier")
	// prompt_cache_key (an OpenAI client's) routes to OpenAI's prompt
	// cache; Mistral has no such field and would refuse the request, and
	// leaving the hint out changes no answer.
	delete(m, "prompt_cache_key")
	if s, ok := m["seed"]; ok {
		m["random_seed"] = s
		delete(m, "seed")
	}
	if tc, ok := m["tool_choice"]; ok && string(tc) == `"required"` {
		m["tool_choice"] = json.RawMessage(`"any"`)
	}
	if c.safePrompt {
		m["safe_prompt"] = json.RawMessage("true")
	}
	if effort != "" {
		m["reasoning_effort"], _ = json.Marshal(effort)
	}
	if reasons(req.Model) {
		if m["messages"], err = replayThoughts(m["messages"], r.Messages); err != nil {
			return nil, fmt.Errorf("mistral: re-encode: %w", err)
		}
	}
	return json.Marshal(m)
}

func rename(b []byte, from, to string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("mistral: re-encode: %w", err)
	}
	if v, ok := m[from]; ok {
		m[to] = v
		delete(m, from)
	}
	return json.Marshal(m)
}

func (c *Client) post(ctx context.Context, path string, body []byte, stream bool) (*http.Response, context.CancelFunc, error) {
	ctx, cancel := c.http.Deadline(ctx, stream)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("mistral: new request: %w", err)
	}
	for k, v := range c.headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Content-Type", "application/json")
	if stream {
		hr.Header.Set("Accept", "text/event-stream")
	} else {
		hr.Header.Set("Accept", "application/json")
	}
	if c.auth != "" {
		hr.Header.Set("Authorization", c.auth)
	}
	resp, err := c.http.Send(hr, cancel)
	if err != nil {
		return nil, nil, c.own(err)
	}
	if resp.StatusCode/100 != 2 {
		defer cancel()
		b, _ := provider.ReadBody(resp.Body, maxErrorBody)
		resp.Body.Close()
		return nil, nil, provider.StatusError(c.info.Name, resp, errorMessage(b))
	}
	return resp, cancel, nil
}

// errorMessage reads Mistral's error body, whose message may be a string
// or a validation object ({"detail": [{"loc", "msg"}]}).
func errorMessage(b []byte) string {
	var w struct {
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(b, &w) == nil && len(w.Message) > 0 && w.Message[0] == '{' {
		var d struct {
			Detail []struct {
				Loc []any  `json:"loc"`
				Msg string `json:"msg"`
			} `json:"detail"`
		}
		if json.Unmarshal(w.Message, &d) == nil && len(d.Detail) > 0 {
			return fmt.Sprintf("%v: %s", d.Detail[0].Loc, d.Detail[0].Msg)
		}
	}
	return api.ErrorMessage(b)
}

func (c *Client) own(err error) error {
	var e *llm.Error
	if errors.As(err, &e) && e.Provider == "" {
		e.Provider = c.info.Name
	}
	return err
}

// Forward refuses: this adapter has no pass-through (Caps.Passthrough is
// empty), so the gateway always translates.
func (c *Client) Forward(ctx context.Context, pm policy.Permit, raw *provider.RawRequest) (*http.Response, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	return nil, provider.NoForward(c.Info())
}
