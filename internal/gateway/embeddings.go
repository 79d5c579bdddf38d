package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
)

// decodeEmbeddings is the decoder of POST /v1/embeddings: policy reads the
// inputs as texts and limits reserve for them as input-only messages.
func decodeEmbeddings(r *http.Request, rc *reqCtx, body []byte) (*intake, error) {
	req, err := openai.DecodeEmbedRequest(body)
	if err != nil {
		return nil, err
	}
	probe := &llm.ChatRequest{Model: req.Model, MaxTokens: new(int)}
	for _, in := range req.Input {
		probe.Messages = append(probe.Messages, llm.TextMessage(llm.RoleUser, in))
	}
	// Inputs given as token ids are billed one token each: the limits,
	// which count a byte of text as a token, see as many bytes (views of
	// one shared blank run, so nothing of their size is allocated). They
	// reserved nothing before.
	for _, ids := range req.Tokens {
		m := llm.Message{Role: llm.RoleUser}
		for n := len(ids); n > 0; n -= len(tokenBlanks) {
			m.Content = append(m.Content, llm.Part{Type: llm.PartText, Text: tokenBlanks[:min(n, len(tokenBlanks))]})
		}
		probe.Messages = append(probe.Messages, m)
	}
	texts := req.Input
	if texts == nil {
		texts = []string{}
	}
	return &intake{model: req.Model, chat: &llm.ChatRequest{Model: req.Model}, texts: texts, tokens: req.Tokens, probe: probe, embed: req}, nil
}

// serveEmbeddings routes an embeddings call and encodes the vectors.
func serveEmbeddings(w http.ResponseWriter, r *http.Request, c *chatCall) error {
	s, rc, req := c.s, c.rc, c.in.embed
	// req was decoded from the body policy cleared: under redaction its
	// inputs hold placeholders (vectors of them are still vectors; nothing
	// to restore).
	input := req.Input
	var resp *llm.EmbedResponse
	t, err := c.run(r.Context(), func(ctx context.Context, t *Target, pm policy.Permit, n int) error {
		start := s.opts.Now()
		up := *req
		up.Model, up.Input = t.Upstream, input
		out, err := t.Provider.Embed(ctx, pm, &up)
		var u *llm.Usage
		if err == nil {
			if out.Usage == nil {
				out.Usage = s.estimateEmbed(t, input)
			}
			u = out.Usage
			resp = out
		}
		c.report(ctx, t, n, start, 0, u, err)
		return err
	})
	if err != nil {
		return c.routeErr(err)
	}
	c.served = t
	rc.provider = t.Provider.Info().Name
	rc.usage = resp.Usage
	b, err := openai.EncodeEmbedResponse(resp, req.Model, req.EncodingFormat)
	if err != nil {
		return &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Message: "could not encode embeddings", Err: err}
	}
	w.Header().Set("X-Fulcrum-Provider", rc.provider)
	c.setCost(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
	return nil
}

// estimateEmbed counts the input tokens of an embeddings call whose
// provider reported none.
func (s *Server) estimateEmbed(t *Target, input []string) *llm.Usage {
	if s.opts.Estimate != nil {
		msgs := make([]llm.Message, len(input))
		for i, in := range input {
			msgs[i] = llm.TextMessage(llm.RoleUser, in)
		}
		return s.opts.Estimate(&llm.ChatRequest{Model: t.Upstream, Messages: msgs}, "")
	}
	var n int
	for _, in := range input {
		n += len(in)
	}
	return &llm.Usage{InputTokens: int64(n+3) / 4, Estimated: true}
}

// tokenBlanks stands in for token ids in an embeddings request's
// admission summary (decodeEmbeddings).
var tokenBlanks = strings.Repeat(" ", 64<<10)
