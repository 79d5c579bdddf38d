package eval

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// Client answers a chat request for the model named in req.Model. Errors
// are *llm.Error where the status is known, so Run can tell a retryable
// failure (429, 5xx, timeout) from a final one.
type Client interface {
	Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error)
}

// HTTPClient calls a gateway (or any OpenAI-compatible server) at
// BaseURL + "/chat/completions", non-streaming.
type HTTPClient struct {
	// BaseURL is the API root, e.g. "http://127.0.0.1:8080/v1".
	BaseURL string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// HTTP is the client to use. Default: one with a 5-minute timeout.
	HTTP *http.Client
}

// chatRequest and chatResponse are the parts of OpenAI's chat completions
// wire format the evaluator needs
// (https://platform.openai.com/docs/api-reference/chat/create).
type chatRequest struct {
	Model       string        `json:"model"`
	Messages    []chatMessage `json:"messages"`
	MaxTokens   *int          `json:"max_tokens,omitempty"`
	Temperature *float64      `json:"temperature,omitempty"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatResponse struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
	} `json:"usage"`
	Error *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	} `json:"error"`
}

// wireRequest is the OpenAI body for a canonical request of text messages.
func wireRequest(req *llm.ChatRequest) chatRequest {
	w := chatRequest{Model: req.Model, MaxTokens: req.MaxTokens, Temperature: req.Temperature}
	w.Messages = make([]chatMessage, len(req.Messages))
	for i := range req.Messages {
		w.Messages[i] = chatMessage{Role: string(req.Messages[i].Role), Content: req.Messages[i].Text()}
	}
	return w
}

// Chat sends req as an OpenAI chat completion.
func (c *HTTPClient) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	body, err := json.Marshal(wireRequest(req))
	if err != nil {
		return nil, fmt.Errorf("eval: encode request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if d := declareHeader(ctx); d != "" {
		hr.Header.Set("X-Fulcrum-Data-Class", d)
	}
	if c.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Message: "gateway unreachable", Err: err}
	}
	defer resp.Body.Close()
	reportClasses(ctx, policy.ParseDeclared(resp.Header.Get("X-Fulcrum-Data-Classes")))
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Message: "reading the answer", Err: err}
	}
	var cr chatResponse
	jerr := json.Unmarshal(raw, &cr)
	if resp.StatusCode != http.StatusOK {
		e := &llm.Error{Status: resp.StatusCode, Type: llm.StatusType(resp.StatusCode), Message: http.StatusText(resp.StatusCode)}
		if jerr == nil && cr.Error != nil {
			e.Message = cr.Error.Message
			if s, ok := cr.Error.Code.(string); ok {
				e.Code = s
			}
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return nil, e
	}
	if jerr != nil || len(cr.Choices) == 0 {
		return nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Message: "malformed answer from the gateway", Err: jerr}
	}
	out := &llm.ChatResponse{ID: cr.ID, Model: cr.Model}
	for i, ch := range cr.Choices {
		text := ""
		if ch.Message.Content != nil {
			text = *ch.Message.Content
		}
		out.Choices = append(out.Choices, llm.Choice{Index: i, Message: llm.TextMessage(llm.RoleAssistant, text), FinishReason: ch.FinishReason})
	}
	if cr.Usage != nil {
		out.Usage = &llm.Usage{InputTokens: cr.Usage.PromptTokens, OutputTokens: cr.Usage.CompletionTokens}
	}
	return out, nil
}

// ProviderClient calls providers in-process, by model name: the way
// `fulcrum eval --config` runs without a gateway. Built by
// NewProviderClient, it applies the config's data policy to every call as
// the gateway would (see clearance.go): a call its policy refuses, or
// whose provider the policy does not permit, fails with the gateway's
// 403 policy_error and never reaches the provider.
type ProviderClient struct {
	models map[string]providerModel
	// policy is nil only for clients assembled with Add (tests).
	policy *evalPolicy
}

type providerModel struct {
	p        provider.Provider
	upstream string
	// identity names what answers: the provider (name, type, base URL,
	// hosting, region, retention, replay source), the upstream model and
	// the data policy that decides what is sent.
	identity string
}

// Identifier is implemented by clients that can say what really answers a
// model name; the answer cache keys on it, so repointing a model (another
// provider, upstream model or base URL) never returns the old answers.
type Identifier interface {
	Identity(model string) string
}

// AnswerIdentifier is implemented by clients whose Identity cannot see
// what answers behind a model name: a gateway maps a name (an alias) to
// an upstream model out of sight, and repointing it must not bring the
// old answers back. With a cache, the runner asks each model live once a
// run before it reads the cache, and keys every answer on the model the
// answer names (the response's model field) and on ModelEntry.
type AnswerIdentifier interface {
	Identifier
	// ModelEntry is what the server lists for the model ("" if nothing).
	ModelEntry(ctx context.Context, model string) string
}

// NewProviderClient maps each configured model to its built provider
// (providers by provider name, as app.BuildProviders returns them).
func NewProviderClient(cfg *config.Config, providers map[string]provider.Provider) (*ProviderClient, error) {
	pol, err := newEvalPolicy(cfg)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	c := &ProviderClient{models: map[string]providerModel{}, policy: pol}
	// The data policy decides what is sent (redacted, kept on self-hosted
	// providers, blocked), so it is part of what answers: tightened after
	// a run, the cached answers of calls it now blocks came back as
	// answered, and the run passed (TestCacheKeyFollowsPolicy).
	pj, err := json.Marshal(cfg.Policy)
	if err != nil {
		return nil, fmt.Errorf("eval: policy: %w", err)
	}
	ph := sha256.Sum256(pj)
	for _, m := range cfg.Models {
		p, ok := providers[m.Provider]
		if !ok {
			return nil, fmt.Errorf("eval: model %q: provider %q is not built", m.Name, m.Provider)
		}
		up := m.Upstream
		if up == "" {
			up = m.Name
		}
		id := "provider=" + m.Provider + "\nupstream=" + up + "\npolicy=" + hex.EncodeToString(ph[:]) + "\nmodel_policy=" + m.Policy
		for i := range cfg.Providers {
			if pc := &cfg.Providers[i]; pc.Name == m.Provider {
				// Hosting, region and retention are what the policy
				// weighs a provider by.
				id += "\ntype=" + pc.Type + "\nbase_url=" + pc.BaseURL + "\nhosting=" + pc.Hosting + "\nregion=" + pc.Region + "\nretention=" + pc.Retention
				if pc.Replay != nil {
					id += fmt.Sprintf("\nreplay=%+v", *pc.Replay)
				}
			}
		}
		c.models[m.Name] = providerModel{p: p, upstream: up, identity: id}
	}
	return c, nil
}

// Identity is the provider and upstream model behind a model name.
func (c *ProviderClient) Identity(model string) string {
	if m, ok := c.models[model]; ok {
		return m.identity
	}
	return "unconfigured=" + model
}

// Identity is the gateway and the model name. What the gateway maps the
// name to is out of sight here: the runner learns it from ModelEntry and
// from a live answer (see AnswerIdentifier).
func (c *HTTPClient) Identity(model string) string {
	return "gateway=" + strings.TrimRight(c.BaseURL, "/") + "\nmodel=" + model
}

// ModelEntry is the gateway's /v1/models entry for model, as the fields
// that say what serves it: its id and owned_by (Fulcrum's gateway gives
// the provider there). Other fields are left out, since some servers
// stamp them afresh on every request and the cache would never hit. ""
// when the gateway lists no such model or cannot be asked.
// https://platform.openai.com/docs/api-reference/models/retrieve
func (c *HTTPClient) ModelEntry(ctx context.Context, model string) string {
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+"/models/"+url.PathEscape(model), nil)
	if err != nil {
		return ""
	}
	if c.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var m struct {
		ID      string `json:"id"`
		OwnedBy string `json:"owned_by"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m) != nil {
		return ""
	}
	return "id=" + m.ID + "\nowned_by=" + m.OwnedBy
}

// Add serves model from p under the upstream name.
func (c *ProviderClient) Add(model string, p provider.Provider, upstream string) {
	if c.models == nil {
		c.models = map[string]providerModel{}
	}
	c.models[model] = providerModel{p: p, upstream: upstream, identity: fmt.Sprintf("provider=%T %p\nupstream=%s", p, p, upstream)}
}

// Chat calls the model's provider with the upstream model name.
func (c *ProviderClient) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	m, ok := c.models[req.Model]
	if !ok {
		return nil, &llm.Error{Status: http.StatusNotFound, Type: llm.ErrNotFound, Code: "model_not_found",
			Message: fmt.Sprintf("model %q is not configured", req.Model)}
	}
	var (
		d   *policy.Decision
		pm  policy.Permit
		err error
	)
	if c.policy != nil {
		if req, d, pm, err = c.policy.clear(ctx, req, m); err != nil {
			return nil, err
		}
	} else if pm, err = policy.Unrestricted().Permit(m.p.Info()); err != nil {
		// A client assembled with Add has no config and so no data
		// policy (tests); Unrestricted is reviewed for it in
		// policy's TestUnrestrictedIsReviewed.
		return nil, err
	}
	r := *req
	r.Model = m.upstream
	resp, err := m.p.Chat(ctx, pm, &r)
	if err == nil && d != nil && d.Redacts() {
		d.Restore(resp)
	}
	return resp, err
}
