package telemetry

import (
	"sync"
	"time"
)

// Span is one span being recorded: a flat struct with a field per
// attribute the gateway sets, encoded to OTLP protobuf once, when it ends.
// No attribute costs an allocation of its own (the OpenTelemetry SDK
// allocated a KeyValue per attribute, copied them at End and again into
// the exporter's protobuf structs: docs/benchmarks.md#tracing).
//
// A Span is two parts. What identifies it (its ids, the client's
// tracestate, the context that carries it) is immutable and may outlive
// it: the request's context, and any context derived from it, still
// answer with these ids after End. What it records (spanData, some 600
// bytes) is taken from a pool at the start and returned to it at End,
// once encoded, so a traced request allocates only the two small
// identifying parts; a Span whose spanData is gone records nothing more.
//
// A nil *Span is valid and records nothing: it is what a request or
// attempt that was not sampled gets (the context then carries only its
// ids, for the upstream's traceparent and the attempts under it). A Span
// is not safe for concurrent use: the gateway touches a request's spans
// from one goroutine at a time.
type Span struct {
	ctx        spanCtx // the context that carries this span (withSpan)
	sc         spanContext
	traceState string
	*spanData  // nil once the span has ended
}

// spanData is what a span records until it ends; pooled (see Span).
type spanData struct {
	t            *Tracer
	parent       [8]byte // zero for a root span
	remoteParent bool
	kind         uint8 // kindServer or kindClient
	start        int64 // unix nanoseconds
	end          int64

	// The name is name1 + " " + name2 (no concatenation until encoded).
	name1, name2 string

	set  uint32 // has* bits: which optional attributes were set
	flag uint32 // boolean attributes that are true (flag* bits)

	method, path        string
	op, model           string // gen_ai.operation.name, gen_ai.request.model
	providerName        string // gen_ai.provider.name
	provider            string // fulcrum.provider
	hosting, region     string
	attempt             int64 // fulcrum.attempt (attempt spans) or fulcrum.attempts (server)
	maxTokens, seed     int64
	temperature, topP   float64
	stop                []string
	choices             int64
	responseID, respMod string
	finish              []string
	finishBuf           [2]string // finish's storage for up to two reasons (Response)
	inTok, outTok       int64
	cacheRead           int64
	costUSD, refUSD     float64
	classes, action     string // classes: comma-separated
	route, strategy     string
	requestID, keyID    string
	input, output       string
	status              int64
	errType             string
}

const (
	kindServer = 2 // Span.SpanKind SPAN_KIND_SERVER
	kindClient = 3 // SPAN_KIND_CLIENT
)

// has* bits of Span.set.
const (
	hasMaxTokens = 1 << iota
	hasTemperature
	hasTopP
	hasSeed
	hasUsage
	hasCost
	hasReference
	hasServed
	hasAttempt
)

// flag* bits of Span.flag: boolean attributes, exported only when true.
const (
	flagStream = 1 << iota
	flagPassThrough
	flagEstimated
	flagCached
	flagJudge
	flagWithheld
)

func (t *Tracer) now() int64 {
	if t.clock != nil {
		return t.clock().UnixNano()
	}
	return time.Now().UnixNano()
}

// Recording reports whether the span records attributes (a nil span, or
// one not sampled, does not: skip work done only for it).
func (s *Span) Recording() bool { return s != nil && s.spanData != nil }

var spanPool = sync.Pool{New: func() any { return new(spanData) }}

// newSpan returns a span recording into a pooled spanData, initialised
// to d.
func newSpan(sc spanContext, traceState string, d *spanData) *Span {
	p := spanPool.Get().(*spanData)
	*p = *d
	return &Span{sc: sc, traceState: traceState, spanData: p}
}

// Request names a server span by operation and requested model (or
// route) and records the request's parameters.
func (s *Span) Request(op, model string, stream bool, p *Params) {
	if !s.Recording() {
		return
	}
	s.name1, s.name2 = op, model
	s.op, s.model = op, model
	if stream {
		s.flag |= flagStream
	}
	if p == nil {
		return
	}
	if p.MaxTokens != nil {
		s.maxTokens, s.set = int64(*p.MaxTokens), s.set|hasMaxTokens
	}
	if p.Temperature != nil {
		s.temperature, s.set = *p.Temperature, s.set|hasTemperature
	}
	if p.TopP != nil {
		s.topP, s.set = *p.TopP, s.set|hasTopP
	}
	if p.Seed != nil {
		s.seed, s.set = *p.Seed, s.set|hasSeed
	}
	s.stop = p.Stop
	if p.N > 1 {
		s.choices = int64(p.N)
	}
}

// Params are the request parameters the conventions name.
type Params struct {
	MaxTokens   *int
	Temperature *float64
	TopP        *float64
	Seed        *int64
	Stop        []string
	N           int
}

// Response records what the upstream answered with.
func (s *Span) Response(id, model string, finish []string) {
	if !s.Recording() {
		return
	}
	// Copied, so that a caller's slice (often on its stack) need not
	// escape to the heap.
	s.responseID, s.respMod = id, model
	s.finish = append(s.finishBuf[:0], finish...)
}

// Usage records token counts and the cost in nanodollars (USD × 1e9);
// reference is what a self-hosted answer would have cost on its reference
// model (0: none).
func (s *Span) Usage(inputTokens, outputTokens, cacheRead int64, estimated bool, costNanos, referenceNanos int64) {
	if !s.Recording() {
		return
	}
	s.inTok, s.outTok, s.cacheRead = inputTokens, outputTokens, cacheRead
	s.set |= hasUsage
	s.Cost(costNanos)
	if estimated {
		s.flag |= flagEstimated
	}
	if referenceNanos > 0 {
		s.refUSD, s.set = float64(referenceNanos)/1e9, s.set|hasReference
	}
}

// Cost records a cost alone (a request whose attempts carried no usage).
func (s *Span) Cost(costNanos int64) {
	if !s.Recording() {
		return
	}
	s.costUSD, s.set = float64(costNanos)/1e9, s.set|hasCost
}

// Policy records the policy verdict: the data classes found or declared
// (comma-separated names, never values) and the action taken.
func (s *Span) Policy(classes, action string) {
	if !s.Recording() {
		return
	}
	s.classes, s.action = classes, action
}

// Route records the plan that served the request: the route's name and
// strategy ("model" for a plain model).
func (s *Span) Route(name, strategy string) {
	if !s.Recording() {
		return
	}
	s.route, s.strategy = name, strategy
}

// Served records the provider that answered a request (server span).
func (s *Span) Served(providerType, providerName, hosting string, attempts int) {
	if !s.Recording() {
		return
	}
	s.providerName = ProviderNameFor(providerType, providerName, hosting)
	s.provider, s.hosting = providerName, hosting
	s.attempt, s.set = int64(attempts), s.set|hasServed
}

// RequestID records the request's id (fulcrum.request_id: the
// X-Request-Id header and the usage records' id).
func (s *Span) RequestID(id string) {
	if s.Recording() {
		s.requestID = id
	}
}

// KeyID records the id of the virtual key that made the request.
func (s *Span) KeyID(id string) {
	if s.Recording() {
		s.keyID = id
	}
}

// Cached notes that the answer came from the response cache.
func (s *Span) Cached() {
	if s.Recording() {
		s.flag |= flagCached
	}
}

// Judge notes that an attempt span is a cascade's judge call.
func (s *Span) Judge() {
	if s.Recording() {
		s.flag |= flagJudge
	}
}

// End closes the span with the HTTP status of its outcome and hands it to
// the exporter. A status of 400 or more marks the span as an error with
// errType (the error code) as error.type, per the conventions. Calls after
// the first do nothing.
func (s *Span) End(status int, errType string) {
	if !s.Recording() {
		return
	}
	s.end = s.t.now()
	s.close(status, errType)
}

// EndAt is End with the span's start and end given by the caller: times
// it took anyway (the gateway's record of an attempt), so the span reads
// no clock of its own and agrees with that record to the nanosecond.
func (s *Span) EndAt(status int, errType string, start, end time.Time) {
	if !s.Recording() {
		return
	}
	s.start, s.end = start.UnixNano(), end.UnixNano()
	s.close(status, errType)
}

func (s *Span) close(status int, errType string) {
	d := s.spanData
	if d.start == 0 { // a Timed span ended without its times
		d.start = d.end
	}
	d.status, d.errType = int64(status), errType
	d.t.exp.add(s) // encodes it: nothing refers to d afterwards
	s.spanData = nil
	*d = spanData{} // let go of the strings it holds
	spanPool.Put(d)
}
