package gateway

import (
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
)

// Shadower sends a sample of requests to shadow candidates after their
// live answer is complete (internal/shadow). Both methods run on the
// request path and must neither block nor do I/O.
type Shadower interface {
	// Sample decides, before routing, whether a request for model (a model
	// or route name) is shadowed. A sampled stream takes the canonical
	// (decoded) path, so that its answer can be assembled and compared.
	Sample(model string, caller *Caller, v Verdict, declared []string) bool
	// Offer hands over a sampled request whose live answer is complete.
	Offer(r *ShadowRequest)
}

// ShadowRequest is a completed live call, for a shadow comparison.
type ShadowRequest struct {
	RequestID string
	Time      time.Time
	Caller    *Caller
	// Model is the model or route the client asked for.
	Model string
	// Request is the canonical request as policy cleared it (redacted
	// when the verdict redacts): what the candidates are sent.
	Request *llm.ChatRequest
	// Clearance is the request's policy clearance: every shadow and judge
	// call goes through the router with it.
	Clearance policy.Clearance
	Verdict   Verdict
	Declared  []string
	// Served answered the client with Response, before redacted values
	// were restored (so it compares with the candidate's redacted-space
	// answer, and no restored value leaves the request path).
	Served   *Target
	Response *llm.ChatResponse
	// Raw and Decode, when Response is nil, are a passed-through answer
	// (the upstream's bytes, which policy did not need to change) and the
	// function that decodes it: the shadow worker decodes it, not the
	// request path.
	Raw    []byte
	Decode func([]byte) (*llm.ChatResponse, error)
	Usage  *llm.Usage
	// Latency is the live call's duration; CostNanos what its attempts
	// cost.
	Latency   time.Duration
	CostNanos int64
}

// shadowState is a sampled call's capture.
type shadowState struct {
	start time.Time
}

// maxShadowAnswer bounds a streamed answer kept for comparison.
const maxShadowAnswer = 1 << 20

// shadowSample marks the call for shadowing when the Shadower samples it.
// Responses API calls are not shadowed: their canonical path may refuse
// what their pass-through serves (stored responses).
func (c *chatCall) shadowSample() {
	sh := c.s.opts.Shadow
	if sh == nil || c.rc.format == fmtResponses {
		return
	}
	if sh.Sample(c.req.Model, c.rc.caller, c.verdict, c.declared) {
		c.shadow = &shadowState{start: c.s.opts.Now()}
	}
}

// shadowOffer hands the complete live answer of a sampled call over,
// after the client has it. resp (before restoring) is given away: the
// caller must not touch it again.
func (c *chatCall) shadowOffer(t *Target, resp *llm.ChatResponse, u *llm.Usage) {
	if c.shadow == nil || resp == nil || t == nil {
		return
	}
	s := c.s
	s.opts.Shadow.Offer(&ShadowRequest{
		RequestID: c.rc.id, Time: c.shadow.start, Caller: c.rc.caller, Model: c.req.Model,
		Request: c.req, Clearance: c.clr, Verdict: c.verdict, Declared: c.declared,
		Served: t, Response: resp, Usage: u,
		Latency: s.opts.Now().Sub(c.shadow.start), CostNanos: c.spent.ProprietaryNanos + c.spent.SelfHostedNanos,
	})
}

// shadowOfferRaw offers a passed-through answer: the worker decodes it.
// raw is not written to again after the response.
func (c *chatCall) shadowOfferRaw(t *Target, raw []byte, u *llm.Usage) {
	if c.shadow == nil || t == nil {
		return
	}
	dec := rawDecoder(c.rc.format)
	if dec == nil {
		return
	}
	s := c.s
	s.opts.Shadow.Offer(&ShadowRequest{
		RequestID: c.rc.id, Time: c.shadow.start, Caller: c.rc.caller, Model: c.req.Model,
		Request: c.req, Clearance: c.clr, Verdict: c.verdict, Declared: c.declared,
		Served: t, Raw: raw, Decode: dec, Usage: u,
		Latency: s.opts.Now().Sub(c.shadow.start), CostNanos: c.spent.ProprietaryNanos + c.spent.SelfHostedNanos,
	})
}
