package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
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
	return r, p.s.err(err)
}

func (p *scrubbed) ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (provider.Stream, error) {
	st, err := p.Provider.ChatStream(ctx, pm, req)
	if err != nil {
		return nil, p.s.err(err)
	}
	return &scrubbedStream{Stream: st, s: p.s}, nil
}

func (p *scrubbed) Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	r, err := p.Provider.Embed(ctx, pm, req)
	return r, p.s.err(err)
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
	b = []byte(p.s.text(string(b)))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return resp, nil
}

type scrubbedStream struct {
	provider.Stream
	s *scrubber
}

func (st *scrubbedStream) Recv() (*llm.Chunk, error) {
	c, err := st.Stream.Recv()
	return c, st.s.err(err)
}
