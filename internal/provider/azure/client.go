// Package azure is the adapter for Azure OpenAI (type azure_openai): chat
// completions and embeddings sent to a resource's deployments
// ({endpoint}/openai/deployments/{deployment}/...?api-version=...), with an
// api-key or Microsoft Entra ID bearer tokens, and Azure's content filter
// mapped to the client's error format: a filtered prompt is a 400 with
// code content_filter and the categories that tripped it.
//
// The wire format is OpenAI's (internal/api/openai). With responses: true,
// OpenAI Responses API requests are passed through to the resource's
// Responses API (POST {endpoint}/openai/v1/responses, or the preview
// /openai/responses?api-version=V), the body's model rewritten to the
// deployment name. See docs/providers/azure_openai.md.
package azure

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
	"time"

	api "github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/jsonscan"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/oaicompat"
)

const providerType = "azure_openai"

const maxErrorBody = 64 << 10

// Client calls an Azure OpenAI resource. It is safe for concurrent use.
type Client struct {
	info        provider.Info
	base        string
	version     string
	deployments map[string]string
	// responsesURL is where Responses API calls go ("" when the provider
	// does not pass them through).
	responsesURL string
	auth         authorizer
	headers      map[string]string
	http         *provider.HTTP
}

var _ provider.Provider = (*Client)(nil)

// New builds a client. cfg.BaseURL is the resource endpoint; exactly one
// of cfg.APIKey, Azure.Entra, Azure.TokenEnv and Azure.TokenCommand
// authenticates.
func New(cfg config.Provider) (*Client, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("azure_openai: provider %q: base_url %q is not the resource endpoint (https://NAME.openai.azure.com)", cfg.Name, cfg.BaseURL)
	}
	// Accept an endpoint written with the /openai suffix too.
	base = strings.TrimSuffix(base, "/openai")
	version := cfg.APIVersion
	if version == "" {
		version = config.DefaultAzureAPIVersion
	}
	hosting := provider.Hosting(cfg.Hosting)
	if hosting == "" {
		hosting = provider.Proprietary
	}
	c := &Client{
		info: provider.Info{
			Name: cfg.Name, Type: providerType, Hosting: hosting, Region: cfg.Region, Retention: cfg.Retention,
			Caps: provider.Capabilities{Embeddings: true, MultipleChoices: true},
		},
		base:    base,
		version: version,
		headers: cfg.Headers,
	}
	a := cfg.Azure
	if a == nil {
		a = &config.Azure{}
	}
	c.deployments = a.Deployments
	if cfg.Responses != nil && *cfg.Responses {
		c.responsesURL = base + "/openai/v1/responses"
		if a.ResponsesAPIVersion != "" {
			c.responsesURL = base + "/openai/responses?api-version=" + url.QueryEscape(a.ResponsesAPIVersion)
		}
		// Only the Responses API is passed through: chat completions
		// keep the translated path, where the content filter is mapped.
		c.info.Caps.Responses = true
	}
	if c.http == nil {
		c.http = provider.NewHTTPFor(cfg.Timeouts)
	}
	switch {
	case cfg.APIKey != "":
		c.auth = keyAuth(cfg.APIKey)
	case a.Entra != nil:
		c.auth = entraAuth(a.Entra, c.http.Client)
	case a.TokenEnv != "":
		c.auth = envAuth(a.TokenEnv)
	case len(a.TokenCommand) > 0:
		c.auth = commandAuth(a.TokenCommand, a.TokenTTL.D(), time.Now)
	default:
		return nil, fmt.Errorf("azure_openai: provider %q: set api_key, azure.entra, azure.token_env or azure.token_command", cfg.Name)
	}
	return c, nil
}

// Info describes the provider.
func (c *Client) Info() *provider.Info { return &c.info }

// Deployment is the deployment a model name is sent to.
func (c *Client) Deployment(model string) string {
	if d, ok := c.deployments[model]; ok && d != "" {
		return d
	}
	return model
}

// requestOptions is Azure's chat dialect: the token limit as
// max_completion_tokens (its reasoning deployments refuse max_tokens),
// reasoning as reasoning_effort with every level OpenAI defines, which the
// deployment's model accepts or refuses with its own 400 (o-series take
// low, medium and high; gpt-5 adds minimal, gpt-5.1 none).
var requestOptions = api.RequestOptions{MaxCompletionTokens: true, Reasoning: api.ReasoningEffort, AllEfforts: true}

// check refuses what the translated path cannot carry: fields the ingress
// decoder only named, except the one that asked for reasoning, which
// reasoning translates; and top_k, which Azure OpenAI's chat completions
// do not define (Azure would answer "Unrecognized request argument
// supplied").
func (c *Client) check(req *llm.ChatRequest) error {
	for _, name := range req.Unsupported {
		if !req.ReasoningParam(name) {
			return llm.Unsupported(c.info.Name, name)
		}
	}
	if req.TopK != nil {
		return llm.Unsupported(c.info.Name, "top_k")
	}
	return nil
}

// withoutOpenAIOnly drops from r (a copy of the client's request) the
// two fields the OpenAI encoder would send that Azure's chat completions
// (api-version 2024-10-21) do not define and refuse as unrecognized
// arguments. Leaving either out changes no answer: service_tier is
// written only as "default" (standard processing, which is what an Azure
// deployment gives; its tier is the deployment's type), and
// prompt_cache_key is a routing hint for OpenAI's prompt cache (Azure
// caches prompts without one). r's Extra is replaced, never written to.
func withoutOpenAIOnly(r *llm.ChatRequest) {
	if r.Extra[api.ExtraServiceTier] == nil && r.Extra[api.ExtraPromptCacheKey] == nil {
		return
	}
	extra := make(map[string]json.RawMessage, len(r.Extra))
	for k, v := range r.Extra {
		if k != api.ExtraServiceTier && k != api.ExtraPromptCacheKey {
			extra[k] = v
		}
	}
	r.Extra = extra
}

// reasoning decides what of the request's reasoning the deployment gets
// (docs/providers/azure_openai.md#reasoning). An explicit request (an
// effort, or a thinking budget mapped to one by llm.EffortForBudget) is
// sent whatever the deployment: Azure answers for its model with a precise
// 400 (unsupported_parameter for gpt-4o) better than a list of names can,
// since a deployment's name need not say its model. Everything softer (a
// hint, an effort of "none", disabled thinking) is sent only when the
// model or deployment name is of a reasoning family, and a hint's effort
// is kept to low, medium or high, the levels every reasoning deployment
// takes: Claude Code sends adaptive thinking and output_config.effort on
// every request, and a gpt-4o deployment must still answer it.
func (c *Client) reasoning(r *llm.ChatRequest) {
	rs := r.Reasoning
	if rs == nil || rs.Explicit() {
		return
	}
	if !reasons(r.Model) && !reasons(c.Deployment(r.Model)) {
		r.Reasoning = nil
		return
	}
	if rs.Hint {
		h := *rs
		switch h.Effort {
		case "minimal":
			h.Effort = "low"
		case "xhigh":
			h.Effort = "high"
		}
		r.Reasoning = &h
	}
}

// reasons reports whether a model or deployment name is of a family that
// takes reasoning_effort on Azure: the o-series, gpt-5 (but not its chat
// snapshots), gpt-oss and codex.
func reasons(name string) bool {
	name = strings.ToLower(name)
	for _, p := range [...]string{"o1", "o3", "o4", "gpt-5", "gpt-oss", "codex"} {
		if strings.HasPrefix(name, p) {
			return !strings.Contains(name, "-chat")
		}
	}
	return false
}

// Chat calls POST /openai/deployments/{deployment}/chat/completions.
func (c *Client) Chat(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if err := c.check(req); err != nil {
		return nil, err
	}
	r := *req
	r.Stream, r.IncludeUsage = false, false
	c.reasoning(&r)
	withoutOpenAIOnly(&r)
	body, err := api.EncodeChatRequestWith(&r, requestOptions)
	if err != nil {
		return nil, err
	}
	resp, cancel, err := c.post(ctx, req.Model, "/chat/completions", body, false)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := provider.ReadResponse(resp, provider.MaxResponseBytes)
	if err != nil {
		return nil, c.transport(ctx, err)
	}
	out, err := api.DecodeChatResponse(b)
	if err != nil {
		return nil, c.own(err)
	}
	if out.Model == "" {
		out.Model = req.Model
	}
	return out, nil
}

// ChatStream calls the same endpoint with stream: true. Azure's first
// chunk (prompt_filter_results, no choices) yields nothing; a completion
// stopped by the filter ends with finish_reason content_filter.
func (c *Client) ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (provider.Stream, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if err := c.check(req); err != nil {
		return nil, err
	}
	r := *req
	r.Stream = true
	c.reasoning(&r)
	withoutOpenAIOnly(&r)
	body, err := api.EncodeChatRequestWith(&r, requestOptions)
	if err != nil {
		return nil, err
	}
	resp, _, err := c.post(ctx, req.Model, "/chat/completions", body, true)
	if err != nil {
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		b, _ := provider.ReadBody(resp.Body, maxErrorBody)
		resp.Body.Close()
		return nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "bad_upstream_response", Provider: c.info.Name,
			Message: fmt.Sprintf("upstream %s: answered a stream request with JSON: %s", c.info.Name, api.ErrorMessage(b))}
	}
	return oaicompat.NewStream(c.info.Name, resp.Body), nil
}

// Embed calls POST /openai/deployments/{deployment}/embeddings.
func (c *Client) Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	body, err := api.EncodeEmbedRequest(req)
	if err != nil {
		return nil, err
	}
	resp, cancel, err := c.post(ctx, req.Model, "/embeddings", body, false)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := provider.ReadResponse(resp, provider.MaxResponseBytes)
	if err != nil {
		return nil, c.transport(ctx, err)
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

// Forward passes an OpenAI Responses API body (raw.Path /responses)
// through to the resource's Responses API, with the body's model rewritten
// to its deployment name (Azure reads the deployment from the body there,
// not from the URL) and the client's query dropped. A non-2xx answer is
// returned as an *llm.Error, the content filter mapped as for chat; a 2xx
// answer comes back unread. The caller closes the body.
func (c *Client) Forward(ctx context.Context, pm policy.Permit, raw *provider.RawRequest) (*http.Response, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if path, _, _ := strings.Cut(raw.Path, "?"); c.responsesURL == "" || path != "/responses" {
		return nil, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Provider: c.info.Name,
			Message: fmt.Sprintf("provider %s passes through only the Responses API, not %s", c.info.Name, path)}
	}
	var m struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal(raw.Body, &m); err != nil || m.Model == "" {
		return nil, llm.Errorf("model", "model is required")
	}
	body, err := jsonscan.SetModel(raw.Body, c.Deployment(m.Model))
	if err != nil {
		return nil, llm.Errorf("model", "could not rewrite the model: %v", err)
	}
	resp, cancel, err := c.send(ctx, c.responsesURL, body, raw.Stream)
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

// post sends body to the model's deployment; non-2xx answers become
// *llm.Error.
func (c *Client) post(ctx context.Context, model, op string, body []byte, stream bool) (*http.Response, context.CancelFunc, error) {
	if model == "" {
		return nil, nil, llm.Errorf("model", "model is required")
	}
	u := c.base + "/openai/deployments/" + url.PathEscape(c.Deployment(model)) + op + "?api-version=" + url.QueryEscape(c.version)
	return c.send(ctx, u, body, stream)
}

// send posts body to u with the provider's headers and credentials;
// non-2xx answers become *llm.Error.
func (c *Client) send(ctx context.Context, u string, body []byte, stream bool) (*http.Response, context.CancelFunc, error) {
	ctx, cancel := c.http.Deadline(ctx, stream)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("azure_openai: new request: %w", err)
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
	if err := c.auth(ctx, hr.Header); err != nil {
		cancel()
		return nil, nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "upstream_auth_failed", Provider: c.info.Name,
			Message: fmt.Sprintf("upstream %s: no credentials: %v", c.info.Name, err), Err: err}
	}
	resp, err := c.http.Send(hr, cancel)
	if err != nil {
		return nil, nil, c.own(err)
	}
	if resp.StatusCode/100 != 2 {
		defer cancel()
		return nil, nil, c.MapError(resp)
	}
	return resp, cancel, nil
}

// MapError reads and closes a non-2xx response. A content-filter refusal
// (error.code content_filter, or innererror.code
// ResponsibleAIPolicyViolation) is a 400 with code content_filter naming
// the filtered categories; other errors keep their status, with 401/403 as
// 502 (the gateway's credentials failed, not the client's).
func (c *Client) MapError(resp *http.Response) *llm.Error {
	b, _ := provider.ReadBody(resp.Body, maxErrorBody)
	resp.Body.Close()
	var w struct {
		Error struct {
			Code       string          `json:"code"`
			Message    string          `json:"message"`
			Param      string          `json:"param"`
			InnerError *innerError     `json:"innererror"`
			Raw        json.RawMessage `json:"-"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &w) == nil && (w.Error.Code == "content_filter" || (w.Error.InnerError != nil && w.Error.InnerError.Code == "ResponsibleAIPolicyViolation")) {
		msg := "the prompt was blocked by Azure OpenAI's content filter"
		if cats := w.Error.InnerError.filtered(); cats != "" {
			msg += " (" + cats + ")"
		}
		return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "content_filter", Param: "messages", Provider: c.info.Name,
			Message: fmt.Sprintf("upstream %s: %s: %s", c.info.Name, msg, w.Error.Message), Err: errors.New("azure content filter")}
	}
	e := provider.StatusError(c.info.Name, resp, api.ErrorMessage(b))
	if resp.StatusCode == http.StatusNotFound && w.Error.Code == "DeploymentNotFound" {
		e.Code = "model_not_found"
	}
	param, code := api.ErrorFields(b)
	provider.UpstreamFields(e, param, code)
	return e
}

// innerError is Azure's error.innererror.
type innerError struct {
	Code                string                     `json:"code"`
	ContentFilterResult map[string]json.RawMessage `json:"content_filter_result"`
}

// filtered lists the categories marked filtered, with their severity:
// "hate: high, jailbreak".
func (ie *innerError) filtered() string {
	if ie == nil {
		return ""
	}
	var out []string
	for _, cat := range []string{"hate", "sexual", "violence", "self_harm", "jailbreak", "indirect_attack", "profanity", "protected_material_text", "protected_material_code", "custom_blocklists"} {
		raw, ok := ie.ContentFilterResult[cat]
		if !ok {
			continue
		}
		var r struct {
			Filtered bool   `json:"filtered"`
			Severity string `json:"severity"`
		}
		if json.Unmarshal(raw, &r) == nil && r.Filtered {
			if r.Severity != "" {
				out = append(out, cat+": "+r.Severity)
			} else {
				out = append(out, cat)
			}
		}
	}
	return strings.Join(out, ", ")
}

func (c *Client) transport(ctx context.Context, err error) error {
	e := provider.TransportError(ctx, err)
	e.Provider = c.info.Name
	return e
}

// own marks an error from the wire decoder as this provider's.
func (c *Client) own(err error) error {
	var e *llm.Error
	if errors.As(err, &e) && e.Provider == "" {
		e.Provider = c.info.Name
		if !strings.HasPrefix(e.Message, "upstream ") {
			e.Message = fmt.Sprintf("upstream %s: %s", c.info.Name, e.Message)
		}
	}
	return err
}
