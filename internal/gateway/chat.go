package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/cache"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/telemetry"
)

// Attempt is one upstream call, reported to the Observer before the
// response's final bytes are written, so a completed response always has
// its record.
type Attempt struct {
	RequestID string
	// N counts attempts within the request, from 1.
	N      int
	Time   time.Time
	Caller *Caller
	// RequestedModel is what the client sent (a model or a route).
	RequestedModel string
	Target         *Target
	Info           *provider.Info
	Stream         bool
	// Status is the HTTP status of the attempt (499 when the client left).
	Status   int
	ErrCode  string
	Latency  time.Duration
	TTFT     time.Duration
	Usage    *llm.Usage
	Verdict  Verdict
	Declared []string
	// CostNanos is the attempt's price (USD × 1e9), set by the gateway's
	// Pricer; ReferenceNanos, for self-hosted attempts, what the same
	// usage would have cost on the reference model.
	CostNanos      int64
	ReferenceNanos int64
	// Tags and EndUser attribute the attempt's cost: the request's tags
	// (x-fulcrum-tags, OpenAI metadata) and its end user (OpenAI user,
	// Anthropic metadata.user_id).
	Tags    map[string]string
	EndUser string
	// Cached is true when the answer came from the response cache: Info
	// is then provider "cache" (with the hosting and region of the
	// provider that produced it), the upstream cost is zero and
	// SavedNanos is what the original call cost.
	Cached     bool
	SavedNanos int64
}

// RequestLog is the outcome of one client request.
type RequestLog struct {
	ID       string
	Time     time.Time
	Caller   *Caller
	Model    string
	Provider string
	Status   int
	Duration time.Duration
	Usage    *llm.Usage
	Stream   bool
	ErrCode  string
	Verdict  Verdict
	// Candidates are the providers policy permitted, Chosen the one that
	// served (nil when none did).
	Candidates []*provider.Info
	Chosen     *provider.Info
}

// chatCall is the state of one chat request across its attempts.
type chatCall struct {
	s        *Server
	rc       *reqCtx
	in       *intake
	req      *llm.ChatRequest
	verdict  Verdict
	declared []string
	// clr is the request's policy clearance: every attempt, fallback and
	// judge call of this request goes through the router with it.
	clr policy.Clearance
	// spent sums what attempts cost, to settle the budget reservation.
	spent Spend
	plan  *router.Plan
	// adm is the limits admission, settled with spent (settle) before a
	// non-streaming answer is sent, or when the call ends.
	adm     Admission
	settled bool
	// served is the target that answered.
	served *Target
	// cache is set when the call uses the response cache.
	cache cacheState
	// shadow is set when the call was sampled for shadow evaluation.
	shadow *shadowState
	// hold keeps capacity slots and notes spills (nil when no provider
	// has a capacity limit).
	hold *router.SlotHolder
	// attempts counts upstream attempts started; att is the open
	// attempt's span (nil when tracing is off), see trace.go.
	attempts int
	att      *telemetry.Span
	// tags and endUser attribute the call's cost (tags.go).
	tags    map[string]string
	endUser string
}

// resolve finds the plan for the requested model.
func (c *chatCall) resolve() error {
	p, err := c.s.opts.Router.Resolve(c.req.Model)
	if err != nil {
		return err
	}
	c.plan = p.For(c.req)
	return nil
}

// run executes attempt over the plan's permitted targets, each with the
// permit the request's clearance mints for it.
func (c *chatCall) run(ctx context.Context, attempt func(ctx context.Context, t *Target, pm policy.Permit, n int) error) (*Target, error) {
	_, t, err := router.Execute(ctx, c.plan, c.clr, func(ctx context.Context, t *Target, pm policy.Permit, n int) (struct{}, error) {
		ctx = c.startAttempt(ctx, t, n)
		return struct{}{}, c.explainThoughtMiss(attempt(ctx, t, pm, n))
	})
	return t, err
}

// maxDeclaredClasses bounds x-fulcrum-data-class, so that a client cannot
// make policy evaluation and audit rows grow with what it declares. (The
// x-fulcrum-* headers' total size is bounded before decoding, inputs.go.)
const maxDeclaredClasses = 32

// fulcrumHeaders returns the classes x-fulcrum-data-class declares
// (comma-separated, malformed names dropped; 400 when more than 32).
func fulcrumHeaders(h http.Header) ([]string, error) {
	vals := h.Values("X-Fulcrum-Data-Class")
	if len(vals) == 0 {
		return nil, nil
	}
	var out []string
	for _, v := range vals {
		for _, c := range policy.ParseDeclared(v) {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	if len(out) > maxDeclaredClasses {
		return nil, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Param: "x-fulcrum-data-class",
			Message: fmt.Sprintf("x-fulcrum-data-class declares %d classes; at most %d are accepted", len(out), maxDeclaredClasses)}
	}
	return out, nil
}

func setPolicyHeaders(rc *reqCtx, h http.Header, v Verdict) {
	if v == nil {
		return
	}
	classes, action := v.Header()
	if classes != "" {
		rc.setHeader(h, "X-Fulcrum-Data-Classes", classes)
	}
	if action != "" {
		rc.setHeader(h, "X-Fulcrum-Policy-Action", action)
	}
}

// passThrough reports whether t can take the client's body (as policy
// left it) unchanged. Not under redaction: the answer must then be decoded
// to restore the redacted values.
func (c *chatCall) passThrough(t *Target) bool {
	caps := &t.Provider.Info().Caps
	// A cached stream takes the canonical path, so its chunks can be
	// assembled into an entry; a cached non-streaming answer keeps
	// pass-through in the formats whose bodies the entry can decode later
	// (rawDecoder). A sampled stream also takes the canonical path, so its
	// chunks can be assembled for the comparison (a sampled non-streaming
	// answer is decoded off the request path from the bytes forwarded).
	if (c.verdict != nil && c.verdict.Redacts()) ||
		(c.cache.on && (c.req.Stream || rawDecoder(c.rc.format) == nil)) || (c.shadow != nil && c.req.Stream) {
		return false
	}
	switch c.rc.format {
	case fmtResponses:
		return caps.Responses
	case fmtCompletions:
		return caps.Completions
	}
	return caps.Passthrough == c.rc.format.name
}

// translatable refuses, before any upstream call, a request the
// translated path to t cannot carry (format-specific; nil for most).
func (c *chatCall) translatable(t *Target) error {
	if c.in != nil && c.in.responses != nil {
		return c.responsesTranslatable(t)
	}
	if c.in != nil && c.in.completions != nil {
		return completionsTranslatable(c.in.completions, t)
	}
	return nil
}

// upstreamRequest is the canonical request for t, with the upstream model
// name. c.req was decoded from the body policy cleared (redacted when it
// says so). It never modifies c.req, so every attempt starts from the same
// request.
func (c *chatCall) upstreamRequest(t *Target) *llm.ChatRequest {
	r := *c.req
	r.Model = t.Upstream
	return c.withThoughts(&r, t)
}

// forwardBody is the client's body rewritten for t (model name, and usage
// for streams). The rewrite is idempotent across retries.
func (c *chatCall) forwardBody(t *Target) ([]byte, error) {
	if c.rc.prevMissing {
		// An id the store holds for no one, or for another key: the
		// upstream, reached with the same credentials for every key,
		// would continue it for anyone.
		return nil, previousMissing(c.in.responses.PreviousResponseID)
	}
	if c.s.opts.Responses == nil && c.in != nil && c.in.responses != nil && c.in.responses.PreviousResponseID != "" {
		return nil, previousUnrecorded()
	}
	if err := c.referencesOwned(); err != nil {
		return nil, err
	}
	b, err := c.rc.format.setModel(c.rc.body, t.Upstream)
	if err != nil {
		return nil, llm.Errorf("model", "could not rewrite request: %v", err)
	}
	return c.rc.format.prepareForwared(b, c.req.Stream)
}

// mapRawError turns a non-2xx pass-through response into an *llm.Error.
func (c *chatCall) mapRawError(t *Target, resp *http.Response) *llm.Error {
	body, _ := provider.ReadBody(resp.Body, 1<<20)
	e := provider.StatusError(t.Provider.Info().Name, resp, c.rc.format.errorMessage(body))
	if c.rc.format != fmtAnthropic {
		// Same format both ways: the upstream's param and code reach the
		// client as it wrote them (Anthropic errors carry neither).
		param, code := openai.ErrorFields(body)
		provider.UpstreamFields(e, param, code)
	}
	return e
}

// report prices an attempt and hands it to the observer and the metrics;
// its cost is settled against the request's budget with the others.
func (c *chatCall) report(ctx context.Context, t *Target, n int, start time.Time, ttft time.Duration, u *llm.Usage, err error) {
	c.reportAs(ctx, c.req.Model, c.req.Stream, t, n, start, ttft, u, err)
}

func (c *chatCall) reportAs(ctx context.Context, model string, stream bool, t *Target, n int, start time.Time, ttft time.Duration, u *llm.Usage, err error) {
	s := c.s
	a := &Attempt{
		RequestID: c.rc.id, N: n, Time: start, Caller: c.rc.caller, RequestedModel: model,
		Target: t, Info: t.Provider.Info(), Stream: stream, Status: http.StatusOK,
		Latency: s.opts.Now().Sub(start), TTFT: ttft, Usage: u, Verdict: c.verdict, Declared: c.declared,
		Tags: c.tags, EndUser: c.endUser,
	}
	if err != nil {
		e := llm.AsError(err)
		a.Status, a.ErrCode = e.Status, e.Code
		if a.ErrCode == "" {
			a.ErrCode = e.Type
		}
		if errors.Is(context.Cause(ctx), router.ErrAttemptTimeout) {
			a.Status, a.ErrCode = http.StatusGatewayTimeout, "upstream_timeout"
		} else if errors.Is(err, context.Canceled) || e.Status == 499 {
			a.Status = 499
		}
	}
	if s.opts.Pricer != nil {
		a.CostNanos, a.ReferenceNanos = s.opts.Pricer.Price(a.Info, t.Upstream, u)
	}
	if s.opts.Observer != nil {
		s.opts.Observer.Attempt(a)
	}
	s.opts.Metrics.observeAttempt(a)
	c.endAttempt(ctx, a)
	if c.hold != nil && err == nil && n > 0 {
		for _, cp := range c.hold.Spilled() {
			cp.CountSpill(a.CostNanos, u)
		}
	}
	if a.Info.Hosting == provider.SelfHosted {
		c.spent.SelfHostedNanos += a.CostNanos
	} else {
		c.spent.ProprietaryNanos += a.CostNanos
	}
	if u != nil {
		c.spent.Tokens += u.Total()
	}
}

// routeErr maps the router's final error for the client.
//
// When policy kept the request from some of the plan's targets and the
// ones it may use failed as unavailable (breaker open, 5xx, unreachable),
// the client is told that policy is why (policy_error no_compliant_target,
// 503) rather than that the model is down: the excluded targets may be
// healthy.
func (c *chatCall) routeErr(err error) error {
	if c.verdict == nil {
		return err
	}
	if errors.Is(err, router.ErrNoPermittedTarget) {
		if e := c.verdict.NoTargetErr(); e != nil {
			return e
		}
		return err
	}
	// A capacity timeout already says that policy permits no other target.
	if e := llm.AsError(err); e.Status >= 500 && e.Status != 504 && e.Code != "capacity_timeout" && c.policyExcluded() {
		return c.verdict.UnavailableErr(e)
	}
	return err
}

// policyExcluded reports whether the clearance kept the request from at
// least one of the plan's targets.
func (c *chatCall) policyExcluded() bool {
	if c.plan == nil {
		return false
	}
	for _, t := range c.plan.Targets() {
		if !c.clr.Permits(t.Provider.Info()) {
			return true
		}
	}
	return false
}

// once serves a non-streaming chat request.
func (c *chatCall) once(w http.ResponseWriter, r *http.Request) error {
	s := c.s
	var (
		resp *llm.ChatResponse
		raw  []byte
		t    *Target
		err  error
	)
	if c.plan.Cascade() != nil {
		resp, t, err = c.cascade(r.Context())
	} else {
		t, err = c.run(r.Context(), func(ctx context.Context, t *Target, pm policy.Permit, n int) error {
			start := s.opts.Now()
			if c.passThrough(t) {
				b, u, err := c.forwardOnce(ctx, t, pm)
				if err == nil {
					c.traceRaw(b)
				}
				c.report(ctx, t, n, start, 0, u, err)
				if err == nil {
					raw, c.rc.usage = b, u
				}
				return err
			}
			out, err := c.chatAttempt(ctx, t, pm, n, start)
			if err == nil {
				resp = out
			}
			return err
		})
	}
	if err != nil {
		return c.routeErr(err)
	}
	c.served = t
	c.rc.provider = t.Provider.Info().Name
	h := w.Header()
	c.rc.setHeader(h, "X-Fulcrum-Provider", c.rc.provider)
	c.noteDropped(h, t)
	c.setCost(h)
	h["Content-Type"] = hdrJSON
	if raw != nil {
		if c.recordsUpstream() { // (store: false, as Codex sends, decodes nothing)
			// Recorded before the client has the answer, as a stream's is
			// before its terminal event: a reference to its items sent
			// the moment it arrives finds them.
			id, model, items := upstreamResponse(raw)
			c.keepUpstreamResponse(r.Context(), id, model, items)
		}
		// Cached before the client has it, as a translated answer is: the
		// same request sent the moment the answer arrives is a hit.
		c.cacheStoreRaw(t, raw, c.rc.usage)
		c.rc.writeAnswer(w, raw)
		c.shadowOfferRaw(t, raw, c.rc.usage)
		return nil
	}
	c.cacheStore(t, resp, c.rc.usage)
	var live *llm.ChatResponse
	if c.shadow != nil {
		live = cache.Clone(resp) // before restoring
	}
	c.keepResponse(r.Context(), resp)
	c.rememberThoughts(t, resp)
	if c.verdict != nil && c.verdict.Redacts() {
		c.verdict.Restore(resp)
	}
	out, err := c.rc.format.encode(c, resp)
	if err != nil {
		return &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Message: "could not encode the upstream answer", Err: err}
	}
	c.rc.writeAnswer(w, out)
	c.shadowOffer(t, live, c.rc.usage)
	return nil
}

// writeAnswer sends a whole non-streaming answer and flushes it at once,
// as httputil.ReverseProxy's copy does: net/http would otherwise hold it
// in its buffer until the handler returns, behind the shadow offer, the
// request's metrics, its access log line and the observer.
// The attempt's usage and audit record were journaled before (report),
// so a client never holds an answer the journal lacks. Content-Length is
// set so that the early flush does not switch the answer to chunked
// encoding (one more write for the closing chunk).
//
// The budget is settled first: a client that sends its next request the
// moment this answer arrives finds this one charged with what it cost,
// not still holding its worst-case reservation (which could refuse the
// next one with budget to spare).
func (rc *reqCtx) writeAnswer(w http.ResponseWriter, b []byte) {
	if rc.call != nil {
		rc.call.settle()
	}
	rc.setHeader(w.Header(), "Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
	_ = http.NewResponseController(w).Flush()
}

// settle settles the limits admission with what the attempts spent, once.
func (c *chatCall) settle() {
	if c.adm != nil && !c.settled {
		c.settled = true
		c.adm.Done(c.spent)
	}
}

// chatAttempt is one canonical (translated) non-streaming attempt.
func (c *chatCall) chatAttempt(ctx context.Context, t *Target, pm policy.Permit, n int, start time.Time) (*llm.ChatResponse, error) {
	var out *llm.ChatResponse
	err := c.translatable(t)
	if err == nil {
		out, err = c.chatUpstream(ctx, t, pm)
	}
	var u *llm.Usage
	if err == nil {
		u = c.s.ensureUsage(c.req, out)
		c.traceResponse(out)
	}
	c.report(ctx, t, n, start, 0, u, err)
	if err == nil {
		c.rc.usage = u
	}
	return out, err
}

// cascade runs a cascade route: cheaper targets first, escalating while
// the answer fails the route's checks. Every attempt is billed.
func (c *chatCall) cascade(ctx context.Context) (*llm.ChatResponse, *Target, error) {
	req := *c.req
	req.Stream = false
	// The judge, if the route has one, records its call under this request.
	ctx = context.WithValue(ctx, callKey{}, &CallInfo{RequestID: c.rc.id, Caller: c.rc.caller, Verdict: c.verdict, call: c})
	resp, t, _, err := router.ExecuteCascade(ctx, c.plan, &req, c.clr, func(ctx context.Context, t *Target, pm policy.Permit, n int) (*llm.ChatResponse, error) {
		ctx = c.startAttempt(ctx, t, n)
		return c.chatAttempt(ctx, t, pm, n, c.s.opts.Now())
	})
	return resp, t, err
}

// forwardOnce sends the client's body to t unchanged but for the model and
// returns the upstream body with its usage.
func (c *chatCall) forwardOnce(ctx context.Context, t *Target, pm policy.Permit) ([]byte, *llm.Usage, error) {
	body, err := c.forwardBody(t)
	if err != nil {
		return nil, nil, err
	}
	resp, err := t.Provider.Forward(ctx, pm, &provider.RawRequest{Path: c.rc.format.path + c.rc.query, Body: body, Header: forwardHeaders(c.rc)})
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, nil, c.mapRawError(t, resp)
	}
	out, err := provider.ReadResponse(resp, provider.MaxResponseBytes)
	if err != nil {
		return nil, nil, provider.StreamCut(t.Provider.Info().Name, err)
	}
	u := c.rc.format.responseUsage(out)
	if u == nil {
		return nil, nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "bad_upstream_response",
			Message: "upstream " + t.Provider.Info().Name + " sent an answer Fulcrum could not read", Provider: t.Provider.Info().Name}
	}
	return out, u, nil
}

// ensureUsage returns the provider's usage, or an estimate (marked so)
// when it reported none.
func (s *Server) ensureUsage(req *llm.ChatRequest, resp *llm.ChatResponse) *llm.Usage {
	if resp.Usage != nil {
		return resp.Usage
	}
	var out strings.Builder
	for _, ch := range resp.Choices {
		out.WriteString(ch.Message.Text())
		for _, tc := range ch.Message.ToolCalls {
			out.WriteString(tc.Name)
			out.WriteString(tc.Arguments)
		}
	}
	resp.Usage = s.estimate(req, out.String())
	return resp.Usage
}

func (s *Server) estimate(req *llm.ChatRequest, output string) *llm.Usage {
	if s.opts.Estimate != nil {
		return s.opts.Estimate(req, output)
	}
	return roughEstimate(req, output)
}

// roughEstimate counts about four bytes a token; used only when no
// tokenizer is wired in.
func roughEstimate(req *llm.ChatRequest, output string) *llm.Usage {
	var in int
	for i := range req.Messages {
		m := &req.Messages[i]
		for _, p := range m.Content {
			in += len(p.Text)
		}
		for _, tc := range m.ToolCalls {
			in += len(tc.Arguments) + len(tc.Name)
		}
	}
	return &llm.Usage{InputTokens: int64(in+3) / 4, OutputTokens: int64(len(output)+3) / 4, Estimated: true}
}

// forwardHeaders picks the client headers an upstream of the same format
// needs (feature flags), never credentials.
func forwardHeaders(rc *reqCtx) http.Header {
	return rc.fwd
}

type callKey struct{}

// CallInfo identifies the client request a nested model call (a cascade
// judge) is made for, so that call can be recorded under it.
type CallInfo struct {
	RequestID string
	Caller    *Caller
	Verdict   Verdict
	call      *chatCall
}

// Judged records a call made for the request (a cascade judge asked about
// model on t) as the request's attempt 0: priced, recorded and audited like
// its other attempts, and settled against its budget with them.
func (ci *CallInfo) Judged(ctx context.Context, model string, t *Target, start time.Time, u *llm.Usage, err error) {
	if ci == nil || ci.call == nil {
		return
	}
	ci.call.reportAs(ctx, model, false, t, 0, start, 0, u, err)
}

// CallFrom returns the request a context belongs to, or nil.
func CallFrom(ctx context.Context) *CallInfo {
	ci, _ := ctx.Value(callKey{}).(*CallInfo)
	return ci
}
