// Package bedrock is the adapter for Amazon Bedrock: chat through the
// Converse and ConverseStream APIs (one translation for every model family
// Bedrock serves through Converse: Anthropic, Meta, Mistral, Amazon, ...),
// embeddings through InvokeModel (Titan and Cohere bodies), requests signed
// with SigV4 from the AWS SDK's credential chain, and streams read from
// AWS event-stream framing.
//
// It uses the SDK's config, signer and event-stream decoder but not the
// bedrockruntime service client: the Converse JSON is small, and owning it
// keeps the translation visible and testable against a fake. See
// docs/providers/bedrock.md.
package bedrock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

const providerType = "bedrock"

// signingName is the SigV4 service name of the Bedrock runtime.
const signingName = "bedrock"

const maxErrorBody = 64 << 10

// Client calls the Bedrock runtime API. It is safe for concurrent use.
type Client struct {
	info    provider.Info
	base    string
	region  string
	creds   aws.CredentialsProvider
	signer  *v4.Signer
	headers map[string]string
	http    *provider.HTTP
	now     func() time.Time
}

var _ provider.Provider = (*Client)(nil)

// New builds a client. cfg.AWS.Region is required; credentials come from
// cfg.AWS's static keys when set, else the SDK's default chain (resolved
// lazily, on the first call).
func New(cfg config.Provider) (*Client, error) {
	if cfg.AWS == nil || cfg.AWS.Region == "" {
		return nil, fmt.Errorf("bedrock: provider %q: aws.region is required", cfg.Name)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = config.BedrockBaseURL(cfg.AWS.Region)
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bedrock: provider %q: base_url %q is not an http(s) URL", cfg.Name, base)
	}
	hosting := provider.Hosting(cfg.Hosting)
	if hosting == "" {
		hosting = provider.Proprietary
	}
	c := &Client{
		info: provider.Info{
			Name: cfg.Name, Type: providerType, Hosting: hosting,
			Region: cfg.Region, Retention: cfg.Retention,
			Caps: provider.Capabilities{Embeddings: true},
		},
		base:    base,
		region:  cfg.AWS.Region,
		signer:  v4.NewSigner(),
		headers: cfg.Headers,
		now:     time.Now,
	}
	if c.creds == nil {
		a := cfg.AWS
		if a.AccessKeyID != "" {
			c.creds = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, a.SessionToken))
		} else {
			lo := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(a.Region)}
			if a.Profile != "" {
				lo = append(lo, awsconfig.WithSharedConfigProfile(a.Profile))
			}
			ac, err := awsconfig.LoadDefaultConfig(context.Background(), lo...)
			if err != nil {
				return nil, fmt.Errorf("bedrock: provider %q: AWS config: %w", cfg.Name, err)
			}
			c.creds = ac.Credentials
		}
	}
	if c.http == nil {
		c.http = provider.NewHTTPFor(cfg.Timeouts)
	}
	return c, nil
}

// Info describes the provider.
func (c *Client) Info() *provider.Info { return &c.info }

// Chat calls POST /model/{modelId}/converse.
func (c *Client) Chat(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	body, err := c.encode(req)
	if err != nil {
		return nil, err
	}
	resp, cancel, err := c.post(ctx, req.Model, "/converse", body, false)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := provider.ReadResponse(resp, provider.MaxResponseBytes)
	if err != nil {
		return nil, c.transport(ctx, err)
	}
	var cr converseResponse
	if err := json.Unmarshal(b, &cr); err != nil {
		return nil, c.malformed(err)
	}
	return provider.KeepFirstToolCall(req, fromConverse(&cr, responseID(resp), req.Model, c.now().Unix())), nil
}

// ChatStream calls POST /model/{modelId}/converse-stream.
func (c *Client) ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (provider.Stream, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	body, err := c.encode(req)
	if err != nil {
		return nil, err
	}
	resp, _, err := c.post(ctx, req.Model, "/converse-stream", body, true)
	if err != nil {
		return nil, err
	}
	return provider.FirstToolCallStream(req, newStream(c.info.Name, resp, responseID(resp), req.Model)), nil
}

func (c *Client) encode(req *llm.ChatRequest) ([]byte, error) {
	if err := c.checkModel(req.Model); err != nil {
		return nil, err
	}
	cr, err := toConverse(req)
	if err != nil {
		return nil, c.own(err)
	}
	b, err := json.Marshal(cr)
	if err != nil {
		return nil, fmt.Errorf("bedrock: encode request: %w", err)
	}
	return b, nil
}

// geoPrefixes are the cross-region inference profile prefixes and the
// region each keeps data in. A "global." profile may run anywhere.
var geoPrefixes = map[string]string{
	"us": "us", "us-gov": "us", "eu": "eu", "apac": "apac", "jp": "jp", "au": "au", "ca": "ca", "global": "",
}

// checkModel refuses a cross-region inference profile that would take the
// request out of the provider's declared region: with region: eu, an
// "eu." profile stays in EU regions, but "us." or "global." would not.
func (c *Client) checkModel(model string) error {
	if model == "" {
		return llm.Errorf("model", "model is required")
	}
	prefix, _, ok := strings.Cut(model, ".")
	if !ok || c.info.Region == "" {
		return nil
	}
	geo, isProfile := geoPrefixes[prefix]
	if !isProfile {
		return nil
	}
	if geo == "" || !strings.EqualFold(geo, c.info.Region) {
		e := llm.Errorf("model", "provider %q is declared in region %q, but inference profile %q routes requests to %s", c.info.Name, c.info.Region, model, orAnywhere(geo))
		e.Code = "model_outside_region"
		e.Provider = c.info.Name
		return e
	}
	return nil
}

func orAnywhere(geo string) string {
	if geo == "" {
		return "any region"
	}
	return "region " + geo
}

// modelURL builds base/model/{modelId}{action}; the model ID (which may be
// an ARN) is one escaped path segment.
func (c *Client) modelURL(model, action string) (*url.URL, error) {
	u, err := url.Parse(c.base)
	if err != nil {
		return nil, err
	}
	baseRaw := strings.TrimRight(u.EscapedPath(), "/")
	u.Path = strings.TrimRight(u.Path, "/") + "/model/" + model + action
	u.RawPath = baseRaw + "/model/" + escapeSegment(model) + action
	return u, nil
}

// escapeSegment percent-encodes everything but RFC 3986's unreserved
// characters, as the AWS SDKs encode a path label (':' and '/' in model IDs
// and ARNs included).
func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == '~' {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// post signs and sends body; non-2xx answers become *llm.Error.
func (c *Client) post(ctx context.Context, model, action string, body []byte, stream bool) (*http.Response, context.CancelFunc, error) {
	u, err := c.modelURL(model, action)
	if err != nil {
		return nil, nil, fmt.Errorf("bedrock: url: %w", err)
	}
	ctx, cancel := c.http.Deadline(ctx, stream)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("bedrock: new request: %w", err)
	}
	hr.URL = u
	for k, v := range c.headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Content-Type", "application/json")
	if stream {
		hr.Header.Set("Accept", "application/vnd.amazon.eventstream")
	} else {
		hr.Header.Set("Accept", "application/json")
	}
	if err := c.sign(ctx, hr, body); err != nil {
		cancel()
		return nil, nil, err
	}
	resp, err := c.http.Send(hr, cancel)
	if err != nil {
		return nil, nil, c.own(err)
	}
	if resp.StatusCode/100 != 2 {
		defer cancel()
		return nil, nil, c.mapError(resp)
	}
	return resp, cancel, nil
}

// sign adds the SigV4 Authorization, X-Amz-Date and (for temporary
// credentials) X-Amz-Security-Token headers.
func (c *Client) sign(ctx context.Context, hr *http.Request, body []byte) error {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "upstream_auth_failed", Provider: c.info.Name,
			Message: fmt.Sprintf("upstream %s: no AWS credentials: %v", c.info.Name, err), Err: err}
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, hr, hex.EncodeToString(sum[:]), signingName, c.region, c.now()); err != nil {
		return fmt.Errorf("bedrock: sign: %w", err)
	}
	return nil
}

// responseID names an answer after Bedrock's request ID (Converse sends
// no message ID).
func responseID(resp *http.Response) string {
	if id := resp.Header.Get("X-Amzn-Requestid"); id != "" {
		return "chatcmpl-" + id
	}
	return "chatcmpl-bedrock"
}

func (c *Client) transport(ctx context.Context, err error) error {
	e := provider.TransportError(ctx, err)
	e.Provider = c.info.Name
	return e
}

func (c *Client) malformed(err error) error {
	return &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "bad_upstream_response", Provider: c.info.Name,
		Message: fmt.Sprintf("upstream %s: malformed response: %v", c.info.Name, err), Err: err}
}

// own sets the provider name on an *llm.Error.
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
