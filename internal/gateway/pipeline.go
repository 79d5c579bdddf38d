package gateway

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/api/completions"
	"github.com/fulcrumhq/fulcrum/internal/api/responses"
	"github.com/fulcrumhq/fulcrum/internal/jsonscan"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/router"
)

// The admission pipeline. Every model endpoint (chat completions, messages,
// responses, completions, embeddings, and any endpoint added later) runs the same stages, in this
// order:
//
//	authenticate  wrap: the caller's key (before the body is read)
//	decode        the endpoint's decoder: raw body -> intake
//	authorise     the key may use the requested model
//	policy        the Guard's verdict over the raw body and the decoded request
//	resolve       the router's plan for the model
//	limits        rate limits and budget reservation (settled when the call ends)
//	route         the endpoint's serve function: attempts over the plan, encoding
//	record        report (per attempt) and finish (per request)
//
// An endpoint contributes only a decoder and a serve function (which picks
// the encoder); everything else is shared.

// intake is a decoded request as the pipeline sees it.
type intake struct {
	// model and stream are what the client asked for (for the access log).
	model  string
	stream bool
	// chat is the canonical request: policy evaluates it, the router plans
	// for it and limits reserve for it. Endpoints that are not chat-shaped
	// (embeddings) set a request with just the model.
	chat *llm.ChatRequest
	// texts, when set, are what policy evaluates instead of chat (the inputs
	// of a text-only endpoint such as embeddings).
	texts []string
	// probe, when set, is what limits reserve for instead of chat.
	probe *llm.ChatRequest
	// tokens, when set, are inputs given as token ids (embeddings,
	// completions prompts): policy decodes and scans them too.
	tokens [][]int
	// embed is the request of an embeddings call.
	embed *llm.EmbedRequest
	// completions is the request of a legacy completions call.
	completions *completions.Request
	// responses is the request of a Responses API call.
	responses *responses.Request
}

// decoder turns a request body into an intake. It may read the request's
// headers and record what must be forwarded in rc.
type decoder func(r *http.Request, rc *reqCtx, body []byte) (*intake, error)

// server serves an admitted call: routes it and encodes the answer.
type server func(w http.ResponseWriter, r *http.Request, c *chatCall) error

// endpoint mounts a pipeline endpoint: format renders its errors (and, for
// chat-shaped endpoints, its answers).
func (s *Server) endpoint(f *wireFormat, decode decoder, serve server) http.HandlerFunc {
	return s.wrap(f, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		c, err := s.admit(w, r, rc, decode)
		if c != nil && c.adm != nil {
			defer c.settle()
		}
		if err != nil {
			return err
		}
		return serve(w, r, c)
	})
}

// admit runs the stages from decode to limits. The returned call, when not
// nil, may hold a limits admission the caller must settle, even on error.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, rc *reqCtx, decode decoder) (*chatCall, error) {
	body, err := s.readBody(r, rc)
	if err != nil {
		return nil, err
	}
	rc.body = body
	in, err := decode(r, rc, body)
	if err != nil {
		return nil, err
	}
	if err := checkModel(in.model); err != nil {
		return nil, err
	}
	rc.model, rc.stream = in.model, in.stream
	if err := authorise(rc.caller, in.model); err != nil {
		return nil, err
	}
	tags, err := requestTags(r.Header, rc.format, body)
	if err != nil {
		return nil, err
	}
	c := &chatCall{s: s, rc: rc, in: in, req: in.chat, tags: tags}
	if in.embed != nil {
		c.endUser = in.embed.User
	} else if in.chat != nil {
		c.endUser = in.chat.User
	}
	if err := checkEndUser(c.endUser); err != nil {
		return nil, err
	}
	rc.call = c
	c.traceRequest()
	if err := s.policy(w, r, c, decode); err != nil {
		return c, err
	}
	in = c.in
	c.traceInput()
	if err := c.resolve(); err != nil {
		return c, err
	}
	if err := s.limits(w, r, c, in); err != nil {
		return c, err
	}
	return c, nil
}

// policy is the data-policy stage. The Guard reads the exact body the
// client sent (strictly: ambiguous JSON is refused) and scans every string
// and key in it. The verdict's Body is what may leave: the client's body,
// or the same body with the redacted strings re-encoded, in which case the
// request is decoded again from it, so that the pass-through path forwards
// redacted bytes and translation re-encodes redacted data: what leaves is
// always what was scanned. The verdict's Clearance is the only way the
// route stage can reach a target.
func (s *Server) policy(w http.ResponseWriter, r *http.Request, c *chatCall, decode decoder) error {
	declared, err := fulcrumHeaders(r.Header)
	if err != nil {
		return err
	}
	// A continued stored conversation keeps the classes its requests
	// declared: its history carries them still.
	for _, d := range c.rc.prevDeclared {
		if !slices.Contains(declared, d) {
			declared = append(declared, d)
		}
	}
	c.declared = declared
	if s.opts.Guard == nil {
		if err := (jsonscan.Reader{MaxDepth: s.opts.Inputs.MaxJSONDepth}).Walk(c.rc.body, nil); err != nil {
			return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: "We could not parse the JSON body of your request: " + err.Error(), Err: err}
		}
		c.clr = policy.Unrestricted()
		return nil
	}
	fwd, err := s.forwardedTexts(r, c.rc)
	if err != nil {
		return err
	}
	in := &PolicyInput{Body: c.rc.body, Declared: declared, Caller: c.rc.caller, Model: c.in.model, Forwarded: fwd, Policies: c.rc.prevPolicies}
	in.Tokens = c.in.tokens
	v, err := s.opts.Guard.Evaluate(in)
	if err != nil {
		return err
	}
	c.verdict = v
	setPolicyHeaders(c.rc, w.Header(), v)
	if e := v.Err(); e != nil {
		return e
	}
	if v.Redacts() {
		body := v.Body()
		c.rc.body = body
		in, err := decode(r, c.rc, body)
		if err != nil {
			return err
		}
		c.in, c.req = in, in.chat
	}
	c.clr = v.Clearance()
	return nil
}

// forwardedTexts are the client's texts that leave beside the body: on
// the pass-through path its query string (raw, and each parameter decoded
// as "key: value") and the values of the headers the decoder chose to
// forward; with tracing on, its W3C tracestate, which every upstream
// request carries on (telemetry.Inject). Policy scans them like the body;
// since they are forwarded as sent, a value found in them is never
// redacted. A query string that does not parse strictly is refused: the
// upstream could read it differently.
func (s *Server) forwardedTexts(r *http.Request, rc *reqCtx) ([]string, error) {
	var out []string
	if q := strings.TrimPrefix(rc.query, "?"); q != "" {
		vals, err := url.ParseQuery(q)
		if err != nil {
			return nil, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest,
				Message: "the query string could not be parsed: " + err.Error(), Err: err}
		}
		out = append(out, q)
		for k, vs := range vals {
			out = append(out, k)
			for _, v := range vs {
				out = append(out, k+": "+v)
			}
		}
	}
	for _, vs := range rc.fwd {
		out = append(out, vs...)
	}
	if rc.thoughts != nil {
		// Restored thinking leaves with the translated request.
		out = append(out, rc.thoughts.texts...)
	}
	if s.opts.Tracer != nil {
		out = append(out, r.Header.Values("Tracestate")...)
	}
	return out, nil
}

// limits admits the call against rate limits and budgets; the reservation
// is settled with what the attempts spent when the endpoint returns.
func (s *Server) limits(w http.ResponseWriter, r *http.Request, c *chatCall, in *intake) error {
	if s.opts.Limiter == nil {
		return nil
	}
	req := in.probe
	if req == nil {
		req = in.chat
	}
	adm, err := s.opts.Limiter.Admit(r.Context(), c.rc.caller, req, c.endUser)
	if err != nil {
		return err
	}
	adm.SetHeaders(w.Header())
	c.adm = adm
	return nil
}

// decodeChat is the decoder of the chat-shaped endpoints: the request is
// decoded by the client's wire format.
func decodeChat(r *http.Request, rc *reqCtx, body []byte) (*intake, error) {
	if rc.format == fmtAnthropic {
		if v := r.Header.Values("Anthropic-Beta"); len(v) > 0 {
			rc.fwd = http.Header{"Anthropic-Beta": v}
		}
		if r.URL.RawQuery != "" {
			rc.query = "?" + r.URL.RawQuery
		}
	}
	req, err := rc.format.decode(body)
	if err != nil {
		return nil, err
	}
	req.Betas = rc.fwd.Values("Anthropic-Beta")
	return &intake{model: req.Model, stream: req.Stream, chat: req}, nil
}

// serveChat routes a chat-shaped call and encodes the answer in the
// client's wire format.
func serveChat(w http.ResponseWriter, r *http.Request, c *chatCall) error {
	if hit, err := c.cacheLookup(w, r); hit || err != nil {
		return err
	}
	c.shadowSample()
	if c.s.capacities {
		// A target with a capacity limit keeps a stream's slot until the
		// stream ends (not just until its first chunk), and spills are
		// noted so their cost can be counted.
		ctx, hold := router.HoldSlots(r.Context())
		r = r.WithContext(ctx)
		c.hold = hold
		defer hold.Release()
	}
	if c.req.Stream {
		return c.stream(w, r)
	}
	return c.once(w, r)
}
