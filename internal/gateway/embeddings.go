package gateway

import (
	"context"
	"net/http"

	"github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	body, err := s.readBody(r)
	if err != nil {
		return err
	}
	req, err := openai.DecodeEmbedRequest(body)
	if err != nil {
		return err
	}
	rc.model = req.Model
	if err := authorise(rc.caller, req.Model); err != nil {
		return err
	}
	permit := allowAll
	var verdict Verdict
	input := req.Input
	if s.opts.Guard != nil {
		verdict = s.opts.Guard.EvaluateTexts(req.Input, declaredClasses(r.Header), rc.caller)
		setPolicyHeaders(w.Header(), verdict)
		if e := verdict.Err(); e != nil {
			return e
		}
		permit = verdict.Permits
		if verdict.Redacts() {
			// Vectors of placeholders are still vectors; nothing to restore.
			input = verdict.RedactTexts(req.Input)
		}
	}
	c := &chatCall{s: s, rc: rc, req: &llm.ChatRequest{Model: req.Model}, verdict: verdict, permit: permit}
	rc.call = c
	if err := c.resolve(); err != nil {
		return err
	}
	if s.opts.Limiter != nil {
		probe := &llm.ChatRequest{Model: req.Model, MaxTokens: new(int)}
		for _, in := range req.Input {
			probe.Messages = append(probe.Messages, llm.TextMessage(llm.RoleUser, in))
		}
		adm, err := s.opts.Limiter.Admit(r.Context(), rc.caller, probe)
		if err != nil {
			return err
		}
		adm.SetHeaders(w.Header())
		defer func() { adm.Done(c.spent) }()
	}
	var resp *llm.EmbedResponse
	t, err := c.run(r.Context(), func(ctx context.Context, t *Target, n int) error {
		start := s.opts.Now()
		up := *req
		up.Model, up.Input = t.Upstream, input
		out, err := t.Provider.Embed(ctx, &up)
		var u *llm.Usage
		if err == nil {
			if out.Usage == nil {
				var n int
				for _, in := range input {
					n += len(in)
				}
				out.Usage = &llm.Usage{InputTokens: int64(n+3) / 4, Estimated: true}
				if s.opts.Estimate != nil {
					msgs := make([]llm.Message, len(input))
					for i, in := range input {
						msgs[i] = llm.TextMessage(llm.RoleUser, in)
					}
					out.Usage = s.opts.Estimate(&llm.ChatRequest{Model: t.Upstream, Messages: msgs}, "")
				}
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
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
	return nil
}
