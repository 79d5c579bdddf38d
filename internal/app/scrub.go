package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// Some upstreams (and the proxies in front of them) echo the request in an
// error body: its headers, its URL, sometimes its body. The adapters turn
// that body into the message the client sees and the error the log keeps,
// so an echoed Authorization, x-api-key, api-key or ?key= would carry the
// provider's secret back to every client and into the log. scrubbed wraps
// each provider and masks, in every error it returns and in the body of a
// pass-through answer that is not a 2xx, the provider's configured secrets
// and anything shaped like a credential (credentials the adapter obtains
// at run time, an Entra or Google access token, are not in the config).
type scrubbed struct {
	provider.Provider
	s *scrubber
}

// scrubProvider wraps p so that pc's secrets never leave it in an error.
func scrubProvider(p provider.Provider, pc config.Provider) provider.Provider {
	return &scrubbed{Provider: p, s: newScrubber(providerSecrets(pc))}
}

// providerSecrets lists the credentials a provider's config holds.
func providerSecrets(pc config.Provider) []string {
	s := []string{pc.APIKey}
	if a := pc.Azure; a != nil && a.Entra != nil {
		s = append(s, a.Entra.ClientSecret)
	}
	if a := pc.AWS; a != nil {
		s = append(s, a.AccessKeyID, a.SecretAccessKey, a.SessionToken)
	}
	// A base_url may carry credentials: a password (a self-hosted server
	// behind basic auth) or a query parameter.
	if u, err := url.Parse(pc.BaseURL); err == nil {
		if pw, ok := u.User.Password(); ok {
			s = append(s, pw)
		}
		for _, vs := range u.Query() {
			s = append(s, vs...)
		}
	}
	return s
}

// redactURL is a base_url fit for a log: its password and query, which
// may hold credentials, are masked.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if u.RawQuery != "" {
		u.RawQuery = redacted
	}
	return u.Redacted()
}

// minSecret is the shortest configured secret masked verbatim: a shorter
// one (a test's "x") would mask ordinary words.
const minSecret = 8

// credentialShapes match credentials by their context, whoever's they are.
// Each keeps its first group and masks the rest.
var credentialShapes = []*regexp.Regexp{
	// Authorization: Bearer TOKEN (OpenAI, Mistral, Entra, Google tokens).
	regexp.MustCompile(`(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{6,}`),
	// x-api-key (Anthropic), api-key (Azure), x-goog-api-key (Gemini) as a
	// header, a JSON field (possibly itself JSON-escaped) or a query.
	regexp.MustCompile(`(?i)((?:x-goog-api-key|x-api-key|api[-_]?key|authorization)\\?["']?\s*[:=]\s*\\?["']?)[^"'\\\s,;&}]{6,}`),
	// Gemini's ?key= in a URL.
	regexp.MustCompile(`([?&]key=)[^&\s"'\\]+`),
	// SigV4: Credential=ACCESSKEYID/date/region/service/aws4_request.
	regexp.MustCompile(`(Credential=)[A-Za-z0-9]+`),
}

const redacted = "[redacted]"

type scrubber struct {
	secrets *strings.Replacer // nil when no secret is configured
	texts   *strings.Replacer // the request's texts; nil but for one request
}

func newScrubber(secrets []string) *scrubber {
	var pairs []string
	for _, s := range secrets {
		if len(s) >= minSecret {
			pairs = append(pairs, s, redacted)
		}
	}
	sc := &scrubber{}
	if len(pairs) > 0 {
		sc.secrets = strings.NewReplacer(pairs...)
	}
	return sc
}

// text masks every secret in s.
func (sc *scrubber) text(s string) string {
	if sc.texts != nil {
		s = sc.texts.Replace(s)
	}
	if sc.secrets != nil {
		s = sc.secrets.Replace(s)
	}
	for _, re := range credentialShapes {
		s = re.ReplaceAllString(s, "${1}"+redacted)
	}
	return s
}

// err masks secrets in err's text. A cause whose text holds none is kept
// as it is, so errors.Is (context.Canceled, deadlines) still sees it.
func (sc *scrubber) err(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var le *llm.Error
	if errors.As(err, &le) {
		c := *le
		c.Message = sc.text(le.Message)
		c.Err = sc.err(le.Err)
		if c.Message == le.Message && c.Err == le.Err {
			return err
		}
		return &c
	}
	if t := err.Error(); sc.text(t) != t {
		return errors.New(sc.text(t))
	}
	return err
}

func (p *scrubbed) Chat(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	r, err := p.Provider.Chat(ctx, pm, req)
	return r, p.s.reqErr(req, req.Model, err)
}

func (p *scrubbed) ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (provider.Stream, error) {
	st, err := p.Provider.ChatStream(ctx, pm, req)
	if err != nil {
		return nil, p.s.reqErr(req, req.Model, err)
	}
	return &scrubbedStream{Stream: st, s: p.s, req: req}, nil
}

func (p *scrubbed) Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	r, err := p.Provider.Embed(ctx, pm, req)
	return r, p.s.reqErr(req, req.Model, err)
}

// maxErrorBody bounds the error body of a pass-through answer read to be
// masked; the gateway reads no more of an error than that either.
const maxErrorBody = 1 << 20

func (p *scrubbed) Forward(ctx context.Context, pm policy.Permit, req *provider.RawRequest) (*http.Response, error) {
	resp, err := p.Provider.Forward(ctx, pm, req)
	if err != nil {
		return resp, p.s.err(err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if rerr != nil {
		return nil, p.s.err(provider.StreamCut(p.Info().Name, rerr))
	}
	b = []byte(p.s.withTexts(bodyTexts(req.Body, "")).text(string(b)))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return resp, nil
}

type scrubbedStream struct {
	provider.Stream
	s   *scrubber
	req *llm.ChatRequest
}

func (st *scrubbedStream) Recv() (*llm.Chunk, error) {
	c, err := st.Stream.Recv()
	return c, st.s.reqErr(st.req, st.req.Model, err)
}

// Prompts never reach a log unless the operator asks, but an upstream
// that echoes the request's body in its error would put them in the
// message the gateway logs. On an error, every text of the request (a
// string of minText bytes or more: a prompt, a system message, an input)
// is masked as "[request text]", as it is and JSON-escaped; the model name
// is kept, "model X does not exist" needs it.
const minText = 12

const requestText = "[request text]"

// reqErr masks secrets and req's texts in err. The request is walked only
// when there is an error: a successful call costs nothing.
func (sc *scrubber) reqErr(req any, model string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return sc.forRequest(req, model).err(err)
}

// forRequest returns sc extended with the texts of req, a canonical
// request (walked through its JSON form).
func (sc *scrubber) forRequest(req any, model string) *scrubber {
	b, err := json.Marshal(req)
	if err != nil {
		return sc
	}
	return sc.withTexts(bodyTexts(b, model))
}

// withTexts returns a copy of sc that also masks texts.
func (sc *scrubber) withTexts(texts []string) *scrubber {
	if len(texts) == 0 {
		return sc
	}
	var pairs []string
	for _, t := range texts {
		// As sent, and escaped once or twice: an echoed body is a JSON
		// string inside the upstream's JSON error object.
		for range 3 {
			pairs = append(pairs, t, requestText)
			q, err := json.Marshal(t)
			if err != nil || string(q[1:len(q)-1]) == t {
				break
			}
			t = string(q[1 : len(q)-1])
		}
	}
	return &scrubber{secrets: sc.secrets, texts: strings.NewReplacer(pairs...)}
}

// bodyTexts lists the JSON string values of body that are minText bytes
// or longer, but model and identifiers.
func bodyTexts(body []byte, model string) []string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			if len(x) >= minText && x != model && !identifier(x) {
				out = append(out, x)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				if k == "model" || k == "Model" {
					continue
				}
				walk(e)
			}
		}
	}
	walk(v)
	// Longest first: a text that holds another is masked whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// identifier reports whether s is shaped like a name rather than a text:
// at most 64 bytes of letters, digits and _ . - [ ] :, no space. Field
// names, enum values and ids are, and the gateway's own errors name them
// ("parameter \"inference_geo\" is not supported"): masking them made
// those errors name nothing. A prompt is not.
func identifier(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-[]:", c) >= 0) {
			return false
		}
	}
	return true
}
