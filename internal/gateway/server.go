// Package gateway is Fulcrum's HTTP front: the OpenAI- and
// Anthropic-compatible handlers under /v1, and the operational endpoints.
//
// Every model request takes the same admission pipeline whatever its
// endpoint and wire format (pipeline.go): authenticate -> decode -> policy ->
// resolve -> limits -> route -> record.
// When the client and the chosen upstream speak the same format and nothing
// must be rewritten but the model name, the body is forwarded as is (the
// pass-through path) and only watched for usage.
package gateway

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/cache"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/telemetry"
)

// Target is one configured model on its provider.
type Target = router.Target

// Guard applies data policy to a request. Nil means no policy: every
// target is permitted (the body is still read strictly).
type Guard interface {
	// Evaluate scans the exact request body and decides. An error is the
	// client's 400 for a body read strictly (invalid or ambiguous JSON).
	Evaluate(in *PolicyInput) (Verdict, error)
}

// PolicyInput is what the policy stage gives the Guard.
type PolicyInput struct {
	// Body is the request body exactly as the client sent it.
	Body []byte
	// Declared are the classes of the x-fulcrum-data-class header.
	Declared []string
	Caller   *Caller
	// Model is the requested model or route.
	Model string
	// Tokens are embeddings inputs given as token ids.
	Tokens [][]int
	// Forwarded are texts sent upstream beside the body, as the client
	// wrote them (query string parameters, forwarded header values): they
	// are scanned, and what is found in them cannot be redacted.
	Forwarded []string
	// Policies are data policies that apply besides the caller's and the
	// model's: those a stored conversation the request continues was
	// cleared under (Verdict.Policies when it was stored), so that its
	// history is judged as strictly as when it was sent.
	Policies []string
}

// Verdict is the policy decision for one request. Its Clearance is what
// every upstream call made for the request must present (router.Execute
// takes it); its Body is what may be forwarded.
type Verdict = *policy.Decision

// StreamRestorer puts redacted values back into a stream.
type StreamRestorer interface {
	Process(c *llm.Chunk) []llm.Chunk
	Flush() []llm.Chunk
}

// Caller is the authenticated client of a request.
type Caller struct {
	// KeyID identifies the virtual key; "master" for the master key and
	// "" when no authentication is configured.
	KeyID string
	Team  string
	// Policy names the data policy bound to the key ("" = default).
	Policy string
	// Allowed, when non-nil, restricts the models and routes the key may use.
	Allowed map[string]bool
}

// Authenticator checks a client's credential. Nil means only the master key
// (if any) is accepted.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*Caller, *llm.Error)
}

// Observer receives one record per upstream attempt and one per request,
// for metering, audit and metrics. It must not block.
type Observer interface {
	Attempt(a *Attempt)
	Request(r *RequestLog)
}

// Pricer prices an upstream attempt's usage in nanodollars (USD × 1e9);
// reference is what a self-hosted answer would have cost on its reference
// model. meter.Pricer is the implementation (through app).
type Pricer interface {
	Price(info *provider.Info, upstream string, u *llm.Usage) (cost, reference int64)
}

// Limiter admits requests against rate limits and budgets before any
// upstream call. Nil admits everything.
type Limiter interface {
	// Admit checks rate limits and reserves the worst-case cost of req for
	// the caller and its end user ("" when the request names none; the
	// id recorded on usage, taken before any redaction). A refusal is an
	// *llm.Error (429) with Retry-After.
	Admit(ctx context.Context, c *Caller, req *llm.ChatRequest, endUser string) (Admission, error)
}

// Admission is an admitted request's hold on limits and budget.
type Admission interface {
	// SetHeaders adds the x-ratelimit-* headers to the response.
	SetHeaders(h http.Header)
	// Done settles the reservation with what the upstream attempts actually
	// cost (releasing it when nothing was consumed). Called exactly once.
	Done(s Spend)
}

// Spend is what a request's attempts consumed, split by hosting so that
// self-hosted use need not count against an API budget.
type Spend struct {
	ProprietaryNanos int64
	SelfHostedNanos  int64
	Tokens           int64
}

// Options configures a Server. Zero fields take the defaults noted.
type Options struct {
	// Router resolves models and routes and runs attempts. Required.
	Router *router.Router
	// Guard applies data policy; nil allows everything.
	Guard Guard
	// Auth verifies virtual keys; nil accepts only MasterKey.
	Auth Authenticator
	// Observer records attempts and requests; nil records nothing. It is
	// a sink: attempts reach it priced.
	Observer Observer
	// Pricer prices every upstream attempt (cost and, for self-hosted
	// providers, reference cost) before it is recorded and settled
	// against the budget; nil prices everything at 0.
	Pricer Pricer
	// Limiter enforces rate limits and budgets; nil enforces none.
	Limiter Limiter
	// MasterKey, when set, must be presented by every client (and is the
	// only credential for /admin).
	MasterKey string
	// MetricsToken, when set, is a second bearer token accepted on
	// /metrics (for a scraper that must not hold the master key). /metrics
	// is open only when neither it nor MasterKey is set.
	MetricsToken string
	MaxBodyBytes int64 // default 20 MiB
	// Inputs bounds everything else a client sends (in-flight requests,
	// body rate, nesting, message count, integer fields, headers).
	Inputs Inputs
	Logger *slog.Logger
	// AccessLog receives one line per request. Default: Logger.
	AccessLog *slog.Logger
	Metrics   *Metrics
	// Ready reports whether the gateway can serve (storage reachable...).
	Ready func(ctx context.Context) error
	// Admin, when set, serves /admin/ (behind the master key).
	Admin http.Handler
	// UI, when set, serves the dashboard under /ui (it checks the master
	// key itself: a login form and a session cookie).
	UI http.Handler
	// Estimate counts tokens when a provider reports no usage; nil uses a
	// rough four-bytes-a-token count.
	Estimate func(req *llm.ChatRequest, output string) *llm.Usage
	// Responses, when set, keeps Responses API conversations answered by
	// translated targets (store: true), so that previous_response_id and
	// GET/DELETE /v1/responses/{id} work on every target (see
	// responses_store.go). Nil keeps none, and then refuses
	// previous_response_id on pass-through too: without a record of which
	// key made a response, the upstream (reached with the same
	// credentials for every key) would continue any key's conversation.
	Responses store.Responses
	// ResponseIDsOnly keeps in Responses only the record of the responses
	// an upstream keeps (pass-through: their id, owning key and verdict),
	// not translated conversations (storage.responses: false). Default
	// false: both are kept.
	ResponseIDsOnly bool
	// Cache, when set, serves the models and routes in CacheRules from
	// the response cache (see cache.go). Nil caches nothing.
	Cache      *cache.Cache
	CacheRules map[string]CacheRule
	// Shadow, when set, samples requests for shadow evaluation and is
	// handed their complete live answers (see shadow.go). Nil shadows
	// nothing and costs nothing.
	Shadow Shadower
	// Tracer exports OpenTelemetry spans (a server span per request, a
	// client span per upstream attempt); nil traces nothing.
	Tracer *telemetry.Tracer
	// Thoughts, when set (with a MasterKey to seal with), shares the
	// thinking kept for Chat Completions clients between replicas
	// (thoughts_shared.go). Nil keeps it per process.
	Thoughts ThoughtStore
	// Now and NewID are injected for tests.
	Now   func() time.Time
	NewID func() string
}

// Server serves the gateway's HTTP API.
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
	// capacities is true when some provider has a capacity limit.
	capacities bool
	// inflight counts /v1 requests being served, for Inputs.MaxInFlight.
	inflight atomic.Int64
	bodyMem  atomic.Int64 // request-body bytes held (holdBody)
	// thoughts keeps the thinking of answers to Chat Completions clients
	// (thoughts.go).
	thoughts *thoughtCache
	// shared is thoughts' tier in a store the replicas share, or nil.
	shared *sharedThoughts
}

// New builds a server.
func New(o Options) *Server {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 20 << 20
	}
	o.Inputs.applyDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.AccessLog == nil {
		o.AccessLog = o.Logger
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = newRequestID
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	s := &Server{opts: o, log: o.Logger, mux: http.NewServeMux(), thoughts: newThoughtCache(o.Now, o.Metrics.Registry),
		shared: newSharedThoughts(o.Thoughts, o.MasterKey, o.Logger)}
	if o.Router != nil {
		s.capacities = len(o.Router.Capacities()) > 0
		o.Metrics.Registry.MustRegister(newHealthCollector(o.Router))
		var names []string
		for _, m := range o.Router.Models() {
			names = append(names, m.ID)
		}
		o.Metrics.SetModels(names)
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	chat := s.endpoint(fmtOpenAI, s.decodeChatCompletions, serveChat)
	s.mux.HandleFunc("POST /v1/chat/completions", chat)
	s.mux.HandleFunc("POST /chat/completions", chat)
	s.mux.HandleFunc("POST /v1/messages", s.endpoint(fmtAnthropic, s.decodeMessages, serveChat))
	s.mux.HandleFunc("POST /v1/messages/count_tokens", s.wrap(fmtAnthropic, s.handleCountTokens))
	s.mux.HandleFunc("POST /v1/responses", s.endpoint(fmtResponses, s.decodeResponses, serveChat))
	s.mux.HandleFunc("GET /v1/responses/{id}", s.wrap(fmtOpenAI, s.handleStoredResponse))
	s.mux.HandleFunc("DELETE /v1/responses/{id}", s.wrap(fmtOpenAI, s.handleStoredResponse))
	s.mux.HandleFunc("POST /v1/responses/{id}/cancel", s.wrap(fmtOpenAI, s.handleStoredResponse))
	legacy := s.endpoint(fmtCompletions, decodeCompletions, serveChat)
	s.mux.HandleFunc("POST /v1/completions", legacy)
	s.mux.HandleFunc("POST /completions", legacy)
	embed := s.endpoint(fmtOpenAI, decodeEmbeddings, serveEmbeddings)
	s.mux.HandleFunc("POST /v1/embeddings", embed)
	s.mux.HandleFunc("POST /embeddings", embed)
	s.mux.HandleFunc("GET /v1/models", s.byClient(s.handleModels))
	s.mux.HandleFunc("GET /v1/models/{id...}", s.byClient(s.handleModel))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.mux.Handle("GET /metrics", protect(s.opts.Metrics.Handler(), s.opts.MasterKey, s.opts.MetricsToken))
	s.mux.Handle("GET /admin/health", s.adminAuth(http.HandlerFunc(s.handleHealth)))
	if s.opts.Admin != nil {
		s.mux.Handle("/admin/", s.adminAuth(s.opts.Admin))
	}
	if s.opts.UI != nil {
		s.mux.Handle("/ui/", s.opts.UI)
		s.mux.Handle("GET /ui", s.opts.UI)
	}
	// Anything else under /v1 gets an error object, not Go's plain text.
	s.mux.HandleFunc("/v1/", s.wrap(fmtOpenAI, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return &llm.Error{Status: http.StatusNotFound, Type: llm.ErrNotFound, Code: "unknown_url", Message: "unknown endpoint " + r.Method + " " + r.URL.Path}
	}))
}

// ServeHTTP implements http.Handler. Every handler under /v1/ is served
// by wrap, which bounds the request's body and closes the connection
// after an answer given before its body was read (stallWriter); anything
// else with a body (the admin API, health, metrics, the dashboard, the
// mux's own 404 and 405) gets the same through guarded.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 && !strings.HasPrefix(r.URL.Path, "/v1/") {
		s.guarded(s.mux).ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.opts.Ready != nil {
		if err := s.opts.Ready(r.Context()); err != nil {
			s.log.Warn("not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"status":"unavailable"}`)
			return
		}
	}
	io.WriteString(w, `{"status":"ready"}`)
}

// reqCtx carries per-request state through a handler.
type reqCtx struct {
	id     string
	format *wireFormat
	start  time.Time
	caller *Caller
	body   []byte
	// filled as the request proceeds, for the access log
	model    string
	provider string
	usage    *llm.Usage
	status   int
	stream   bool
	errCode  string
	// fwd holds client headers forwarded on the pass-through path, query
	// the client's query string ("?beta=true" from Claude Code), forwarded
	// with it to an upstream of the same format. The policy stage scans
	// both (forwardedTexts): whatever a decoder puts here is scanned.
	fwd   http.Header
	query string
	// call is the chat call, for the request record.
	call *chatCall
	// prevResponse is the stored response a Responses request continues
	// (its history is in body); prevMissing says the store had none.
	prevResponse string
	prevMissing  bool
	// prevPolicies and prevDeclared are the data policies and declared
	// classes of that stored response: the request inherits them.
	prevPolicies, prevDeclared []string
	// prevUpstream says the stored response is held by the upstream
	// that answered it (a pass-through answer Fulcrum recorded the id
	// of): its previous_response_id is forwarded, not expanded.
	prevUpstream bool
	// itemMissing refuses, on pass-through, the first input item id the
	// store holds for no response of the caller's key; refsChecked says
	// the store was asked.
	itemMissing *llm.Error
	refsChecked bool
	// thoughts is the thinking restored into a Chat Completions request
	// (thoughts.go); its texts are scanned with the body.
	thoughts *restoredThoughts
	// span is the request's server span (nil when tracing is off).
	span *telemetry.Span
	// sw and dbody are the request's stall writer and body deadline
	// (inputs.go), kept here so that a request allocates them with its
	// context rather than on their own.
	sw    stallWriter
	dbody deadlineBody
	// bodyHeld is what the request's body holds of the body memory
	// (holdBody), released when it ends.
	bodyHeld int64
	// hdr holds the values of the response headers the gateway sets
	// (setHeader): a request's few cost no allocation each.
	hdr  [6]string
	nhdr int
}

// setHeader sets h[key] (key in canonical form) to v, the value's slice
// taken from rc.hdr while it has room. The slice's capacity is one, so
// an Add to the same key copies it rather than writing into rc.
func (rc *reqCtx) setHeader(h http.Header, key, v string) {
	if rc.nhdr == len(rc.hdr) {
		h[key] = []string{v}
		return
	}
	i := rc.nhdr
	rc.hdr[i] = v
	h[key] = rc.hdr[i : i+1 : i+1]
	rc.nhdr++
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error

// wrap authenticates, assigns the request id and renders a returned error in
// the client's wire format.
// byClient serves a path both families of clients share (GET /v1/models)
// with errors in the asking client's format: Anthropic's SDKs send
// anthropic-version, and get Anthropic's error object (a 404 is a
// not_found_error), as they get its model objects.
func (s *Server) byClient(h handlerFunc) http.HandlerFunc {
	oa, an := s.wrap(fmtOpenAI, h), s.wrap(fmtAnthropic, h)
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Anthropic-Version") != "" {
			an(w, r)
			return
		}
		oa(w, r)
	}
}

// InFlight returns how many /v1 requests are being served. A
// non-streaming answer reaches its client before its request has
// finished (writeAnswer): the budget settlement, shadow and cache offers,
// metrics and the access log follow it. At 0 they are done.
func (s *Server) InFlight() int64 { return s.inflight.Load() }

func (s *Server) wrap(f *wireFormat, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.opts.Metrics.inflight.Inc()
		defer s.opts.Metrics.inflight.Dec()
		rc := &reqCtx{id: s.opts.NewID(), format: f, start: s.opts.Now(), status: http.StatusOK}
		w = s.guardBody(&rc.sw, &rc.dbody, w, r)
		// Armed now, so that everything written for this request, the
		// server's own "100 Continue" for its body included, is under
		// this request's deadline (TestWriteStallKeepAliveIdle).
		rc.sw.arm()
		rc.setHeader(w.Header(), "X-Request-Id", rc.id)
		if s.opts.Tracer != nil {
			var ctx context.Context
			ctx, rc.span = s.opts.Tracer.StartRequest(r.Context(), r.Header, r.Method, r.URL.Path)
			r = r.WithContext(ctx)
		}
		var err error
		n := s.inflight.Add(1)
		defer s.inflight.Add(-1)
		defer func() { s.bodyMem.Add(-rc.bodyHeld) }()
		if n > s.opts.Inputs.MaxInFlight {
			err = errOverloaded
		} else if err = s.checkHeaders(r.Header); err == nil {
			var caller *Caller
			caller, err = s.authenticate(r)
			if err == nil {
				rc.caller = caller
				if caller.KeyID != "" {
					// Breakers tell tenants apart (router.WithTenant).
					r = r.WithContext(router.WithTenant(r.Context(), caller.KeyID))
				}
				err = h(w, r, rc)
			}
		}
		if err != nil {
			e := llm.AsError(err)
			// A cut slow body cancels the request's context too (the
			// connection's read failed), but the client is still there to
			// be told why.
			if e.Status == 499 || (r.Context().Err() != nil && e.Code != "body_timeout") {
				rc.status = 499
				rc.errCode = "client_closed_request"
			} else {
				rc.status = e.Status
				rc.errCode = e.Code
				if rc.errCode == "" {
					rc.errCode = e.Type
				}
				if e.Status >= 500 {
					s.log.Warn("request failed", "request_id", rc.id, "status", e.Status, "err", e)
				}
				s.writeError(w, f, e)
			}
		}
		s.finish(r, rc)
	}
}

// finish writes the access log line and request metrics.
func (s *Server) finish(r *http.Request, rc *reqCtx) {
	d := s.opts.Now().Sub(rc.start)
	s.opts.Metrics.observeRequest(rc, d)
	s.endRequest(rc)
	if s.opts.Observer != nil && rc.model != "" {
		rl := &RequestLog{
			ID: rc.id, Time: rc.start, Caller: rc.caller, Model: rc.model, Provider: rc.provider,
			Status: rc.status, Duration: d, Usage: rc.usage, Stream: rc.stream, ErrCode: rc.errCode,
		}
		if c := rc.call; c != nil {
			rl.Verdict = c.verdict
			if c.plan != nil {
				for _, t := range c.plan.Targets() {
					if info := t.Provider.Info(); c.clr.Permits(info) {
						rl.Candidates = append(rl.Candidates, info)
					}
				}
			}
			if c.served != nil {
				rl.Chosen = c.served.Provider.Info()
			}
		}
		s.opts.Observer.Request(rl)
	}
	if !s.opts.AccessLog.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	// Room for every attribute below: one allocation, not a regrowth.
	attrs := make([]slog.Attr, 0, 11)
	attrs = append(attrs,
		slog.String("request_id", rc.id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rc.status),
		slog.Duration("latency", d),
	)
	if rc.model != "" {
		attrs = append(attrs, slog.String("model", rc.model))
	}
	if rc.provider != "" {
		attrs = append(attrs, slog.String("provider", rc.provider))
	}
	if rc.stream {
		attrs = append(attrs, slog.Bool("stream", true))
	}
	if rc.usage != nil {
		attrs = append(attrs, slog.Int64("input_tokens", rc.usage.InputTokens), slog.Int64("output_tokens", rc.usage.OutputTokens))
	}
	if rc.errCode != "" {
		attrs = append(attrs, slog.String("error", rc.errCode))
	}
	s.opts.AccessLog.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}

// credential extracts the client's key: Authorization: Bearer (OpenAI, and
// current Anthropic SDKs) or x-api-key (Anthropic) or x-goog-api-key.
func credential(r *http.Request) string {
	if v := r.Header.Get("Authorization"); v != "" {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
		return ""
	}
	if v := r.Header.Get("X-Api-Key"); v != "" {
		return v
	}
	return r.Header.Get("X-Goog-Api-Key")
}

var errNoKey = &llm.Error{Status: http.StatusUnauthorized, Type: llm.ErrAuthentication, Code: "invalid_api_key", Message: "missing or invalid API key"}

// authenticate identifies the client. With a master key set, every request
// needs a key: the master key or a virtual key. With none set (the gateway
// then listens on loopback only), authentication is off: a virtual key is
// still recognised, so its budgets and limits apply, and any other
// credential is served anonymously.
func (s *Server) authenticate(r *http.Request) (*Caller, error) {
	secret := credential(r)
	if s.opts.MasterKey != "" && secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.MasterKey)) == 1 {
		return &Caller{KeyID: "master"}, nil
	}
	if s.opts.Auth != nil && secret != "" {
		c, err := s.opts.Auth.Authenticate(r.Context(), secret)
		if err == nil {
			return c, nil
		}
		if s.opts.MasterKey != "" || err.Status >= 500 {
			return nil, err
		}
	}
	if s.opts.MasterKey == "" {
		return &Caller{}, nil
	}
	return nil, errNoKey
}

func (s *Server) adminAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := credential(r)
		if s.opts.MasterKey == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.MasterKey)) != 1 {
			e := errNoKey
			if s.opts.MasterKey == "" {
				e = &llm.Error{Status: http.StatusForbidden, Type: llm.ErrPermission, Code: "admin_disabled", Message: "the admin API needs a master key (FULCRUM_MASTER_KEY)"}
			}
			s.writeError(w, fmtOpenAI, e)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// readBody reads the whole request body (never streaming it into the
// upstream call: Go's HTTP/1.1 server may close a request body once the
// response has started, see http.ResponseController.EnableFullDuplex).
// Memory follows what has arrived, never the declared Content-Length (a
// client may declare 20 MiB and send ten bytes); a slow body is cut by
// deadlineBody (see wrap); a JSON body's shape is checked (scanBody)
// before any decoder sees it.
func (s *Server) readBody(r *http.Request, rc *reqCtx) ([]byte, error) {
	limit := s.opts.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	size := int64(4096)
	if r.ContentLength > 0 {
		size = min(r.ContentLength+1, 64<<10)
	}
	// The buffer's growth is held against server.max_body_memory before
	// it is made: memory follows the bytes that arrived, for all requests
	// together too.
	if !s.holdBody(rc, size) {
		return nil, errBodyMemory
	}
	b := make([]byte, 0, size)
	lr := io.LimitReader(r.Body, limit+1)
	for {
		if len(b) == cap(b) {
			if !s.holdBody(rc, int64(cap(b))) {
				return nil, errBodyMemory
			}
			b = slices.Grow(b, cap(b))
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bodyError(err)
		}
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(limit)
	}
	b, err := decodeContent(r.Header, b, limit)
	if err != nil {
		return nil, err
	}
	if e := s.scanBody(b); e != nil {
		return nil, e
	}
	return b, nil
}

func tooLarge(limit int64) *llm.Error {
	return &llm.Error{Status: http.StatusRequestEntityTooLarge, Type: llm.ErrTooLarge, Code: "request_too_large",
		Message: "request body is larger than the limit of " + itoa(limit) + " bytes"}
}

// Request ids are a random per-process prefix and a counter: unique across
// replicas without reading the system's random source per request.
var (
	idPrefix = func() string {
		var b [6]byte
		_, _ = rand.Read(b[:])
		return "req_" + hex.EncodeToString(b[:])
	}()
	idCounter atomic.Uint64
)

func newRequestID() string {
	var b [40]byte
	n := copy(b[:], idPrefix)
	return string(strconv.AppendUint(b[:n], idCounter.Add(1), 36))
}

// authorise checks the caller may use model.
func authorise(c *Caller, model string) error {
	if c == nil || c.Allowed == nil || c.Allowed[model] {
		return nil
	}
	return &llm.Error{Status: http.StatusForbidden, Type: llm.ErrPermission, Code: "model_not_allowed",
		Message: "this key may not use model " + quote(model)}
}

var errClientGone = errors.New("client closed request")
