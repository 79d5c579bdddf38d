package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/api/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/cache"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// CacheRule opts a model or route into the response cache.
type CacheRule struct {
	TTL time.Duration
	// Scope is "policy" (default), "team" or "key": who shares entries
	// beyond the policy scope every entry is keyed by.
	Scope string
}

// cacheState is one call's use of the response cache: on when the model
// or route opted in and the client did not say no-store. It is a value in
// the call, not a pointer: a miss allocates nothing for it.
type cacheState struct {
	on   bool
	key  cache.Key
	rule CacheRule
}

// The cache stage runs after limits, before route: a hit is answered
// without any upstream call, at zero upstream cost.
//
// The key is the whole normalised request and its policy scope: the key's
// policy name (with the requested model, this names the policy applied:
// key -> model -> default), the verdict's classes and action, and the
// providers the verdict permits among the plan's targets. The provider
// that produced an entry is checked against the caller's verdict again
// before a hit is served, so a hit can never come from, or go to, anything
// the policy would not have allowed.
func (c *chatCall) cacheLookup(w http.ResponseWriter, r *http.Request) (served bool, err error) {
	s := c.s
	if s.opts.Cache == nil {
		return false, nil
	}
	rule, ok := s.opts.CacheRules[c.req.Model]
	if !ok {
		return false, nil
	}
	h := w.Header()
	noStore, noCache := cacheControl(r.Header)
	// A completions request only a completions endpoint can serve (FIM,
	// echo, logprobs...) takes the pass-through path, which is not cached.
	// Nor is a request carrying what the canonical request does not hold
	// (documents, audio, files, logprobs: ChatRequest.Unsupported names
	// them, without their values): the key could not tell two of them apart.
	// Nor a Responses request naming state kept elsewhere (a previous
	// response the upstream keeps, an item_reference, a conversation):
	// the canonical request leaves it out, so a hit would answer it as if
	// it named nothing, where it is to be forwarded or refused.
	if noStore || c.req.N > 1 || len(c.req.Unsupported) > 0 || (c.in.completions != nil && c.in.completions.Native != "") ||
		(c.in.responses != nil && c.in.responses.NeedsStore != "") {
		h["X-Fulcrum-Cache"] = cacheBypass
		return false, nil
	}
	var infos [4]*provider.Info // on the stack for plans of up to four targets
	sc := cache.Scope{Targets: c.appendPermittedInfos(infos[:0])}
	if cl := c.rc.caller; cl != nil {
		sc.Policy = cl.Policy
		switch rule.Scope {
		case "team":
			sc.Tenant = "team:" + cl.Team
		case "key":
			sc.Tenant = "key:" + cl.KeyID
		}
	}
	if c.verdict != nil {
		sc.Classes, sc.Action = c.verdict.Header()
	}
	c.cache = cacheState{on: true, key: cache.NewKey(c.req, &sc), rule: rule}
	if noCache {
		h["X-Fulcrum-Cache"] = cacheMiss
		return false, nil
	}
	e, ok := s.opts.Cache.Get(c.cache.key)
	if !ok || !c.clr.Permits(e.Info()) {
		h["X-Fulcrum-Cache"] = cacheMiss
		return false, nil
	}
	return true, c.serveHit(w, e)
}

// The X-Fulcrum-Cache values, shared by every response so that setting one
// allocates nothing (Header.Set makes a new slice each time). No code
// modifies a header value in place; Header.Add would append to a copy.
var (
	cacheMiss   = []string{"miss"}
	cacheHit    = []string{"hit"}
	cacheBypass = []string{"bypass"}
)

// The same for the headers of every answer: the content types, and a
// stream's Cache-Control, X-Accel-Buffering and Trailer declaration.
var (
	hdrJSON        = []string{"application/json"}
	hdrEventStream = []string{"text/event-stream"}
	hdrNoCache     = []string{"no-cache"}
	hdrNo          = []string{"no"}
	hdrTrailerCost = []string{costHeader}
)

// cacheControl reads the client's Cache-Control: no-store (neither read
// nor write the cache) and no-cache (do not answer from it, but store).
func cacheControl(h http.Header) (noStore, noCache bool) {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			switch strings.ToLower(strings.TrimSpace(d)) {
			case "no-store":
				noStore = true
			case "no-cache":
				noCache = true
			}
		}
	}
	return noStore, noCache
}

// appendPermittedInfos appends the providers of the plan the verdict
// permits, in plan order, to out.
func (c *chatCall) appendPermittedInfos(out []*provider.Info) []*provider.Info {
	for _, t := range c.plan.Targets() {
		if info := t.Provider.Info(); c.clr.Permits(info) {
			out = append(out, info)
		}
	}
	return out
}

// serveHit answers from a cache entry, streamed or not, in the client's
// format, restoring redacted values for this caller.
func (c *chatCall) serveHit(w http.ResponseWriter, e *cache.Entry) error {
	s := c.s
	for _, t := range c.plan.Targets() {
		if t.Model == e.Model && t.Provider.Info().Name == e.Provider {
			c.served = t
			break
		}
	}
	h := w.Header()
	h["X-Fulcrum-Cache"] = cacheHit
	c.setCost(h) // a hit costs nothing upstream
	h.Set("Age", strconv.Itoa(int(s.opts.Now().Sub(e.Stored)/time.Second)))
	c.rc.provider = e.Provider
	u := e.Usage
	c.rc.usage = &u
	c.reportHit(e)
	// A passed-through answer is replayed as it was sent when the client
	// speaks its format and wants it whole; otherwise it is decoded (once
	// per entry) and encoded for this client.
	if e.Raw != nil && !c.req.Stream && e.RawFormat == c.rc.format.name && (c.verdict == nil || !c.verdict.Redacts()) {
		h.Set("X-Fulcrum-Provider", e.Provider)
		h.Set("Content-Type", "application/json")
		w.Write(e.Raw)
		return nil
	}
	answer, err := s.opts.Cache.Answer(c.cache.key, e, rawDecoder(formatNamed(e.RawFormat)))
	if err != nil || answer == nil {
		return &llm.Error{Status: http.StatusInternalServerError, Type: llm.ErrUpstream, Message: "could not decode the cached answer", Err: err}
	}
	resp := cache.Clone(answer)
	if c.req.Stream {
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Fulcrum-Provider", e.Provider)
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		c.replay(newFlushWriter(w), resp) // restores
		return nil
	}
	if c.verdict != nil && c.verdict.Redacts() {
		c.verdict.Restore(resp)
	}
	out, err := c.rc.format.encode(c, resp)
	if err != nil {
		return &llm.Error{Status: http.StatusInternalServerError, Type: llm.ErrUpstream, Message: "could not encode the cached answer", Err: err}
	}
	h.Set("X-Fulcrum-Provider", e.Provider)
	h.Set("Content-Type", "application/json")
	w.Write(out)
	return nil
}

// cacheProvider describes a hit for records and metrics: provider "cache",
// with the hosting and region of the provider that produced the answer.
func cacheProvider(e *cache.Entry) *provider.Info {
	return &provider.Info{Name: "cache", Type: "cache", Hosting: e.Hosting, Region: e.Region}
}

// reportHit records a hit as attempt 1 of the request, at zero upstream
// cost, with what the original call cost as SavedNanos.
func (c *chatCall) reportHit(e *cache.Entry) {
	s := c.s
	u := e.Usage
	t := c.served
	if t == nil {
		return
	}
	a := &Attempt{
		RequestID: c.rc.id, N: 1, Time: s.opts.Now(), Caller: c.rc.caller, RequestedModel: c.req.Model,
		Target: t, Info: cacheProvider(e), Stream: c.req.Stream, Status: http.StatusOK,
		Usage: &u, Verdict: c.verdict, Declared: c.declared, Cached: true, SavedNanos: e.CostNanos,
		Tags: c.tags, EndUser: c.endUser,
	}
	c.rc.span.Cached()
	// Not priced: a hit costs nothing upstream.
	if s.opts.Observer != nil {
		s.opts.Observer.Attempt(a)
	}
	s.opts.Metrics.observeAttempt(a)
}

// cacheStore keeps a complete answer from t (before restoring) when the
// call uses the cache. resp is cloned: the caller goes on to restore it.
func (c *chatCall) cacheStore(t *Target, resp *llm.ChatResponse, u *llm.Usage) {
	if !c.cache.on || resp == nil || t == nil {
		return
	}
	info := t.Provider.Info()
	e := &cache.Entry{
		Response: cache.Clone(resp), Provider: info.Name, Hosting: info.Hosting, Region: info.Region,
		Model: t.Model, Upstream: t.Upstream, CostNanos: c.spent.ProprietaryNanos + c.spent.SelfHostedNanos,
	}
	if u != nil {
		e.Usage = *u
	}
	c.s.opts.Cache.Put(c.cache.key, e, c.cache.rule.TTL)
}

// cacheStoreRaw keeps a passed-through answer as the bytes sent to the
// client, decoded only if a later hit needs another format or a stream.
func (c *chatCall) cacheStoreRaw(t *Target, raw []byte, u *llm.Usage) {
	if !c.cache.on || t == nil || rawDecoder(c.rc.format) == nil {
		return
	}
	info := t.Provider.Info()
	e := &cache.Entry{ // Put copies it: on the stack
		Raw: raw, RawFormat: c.rc.format.name,
		Provider: info.Name, Hosting: info.Hosting, Region: info.Region,
		Model: t.Model, Upstream: t.Upstream, CostNanos: c.spent.ProprietaryNanos + c.spent.SelfHostedNanos,
	}
	if u != nil {
		e.Usage = *u
	}
	c.s.opts.Cache.Put(c.cache.key, e, c.cache.rule.TTL)
}

// formatNamed is the wire format a raw cache entry was stored in.
func formatNamed(name string) *wireFormat {
	for _, f := range []*wireFormat{fmtOpenAI, fmtAnthropic} {
		if f.name == name {
			return f
		}
	}
	return nil
}

// rawDecoder decodes a passed-through answer body of format f into the
// canonical answer, for the formats whose answers can be replayed in any
// other (nil for the rest, which then take the canonical path).
func rawDecoder(f *wireFormat) func([]byte) (*llm.ChatResponse, error) {
	switch f {
	case fmtOpenAI:
		return openai.DecodeChatResponse
	case fmtAnthropic:
		return anthropic.DecodeMessagesResponse
	}
	return nil
}
