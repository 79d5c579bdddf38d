package telemetry

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// W3C trace context (https://www.w3.org/TR/trace-context/), read and
// written by hand: a traceparent is 55 bytes of fixed layout, and the
// OpenTelemetry propagator's generic carrier interface costs several
// allocations per header for no gain here.

// spanContext identifies a span across processes.
type spanContext struct {
	traceID [16]byte
	spanID  [8]byte
	sampled bool
}

// parseTraceparent reads a traceparent header value:
// "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>". A future version
// may append fields after a dash; version ff, upper-case hex and all-zero
// ids are invalid (the header is then ignored, as the specification asks).
func parseTraceparent(v string) (spanContext, bool) {
	var sc spanContext
	if len(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return sc, false
	}
	ver, ok := hexByte(v[0], v[1])
	if !ok || ver == 0xff || (ver == 0 && len(v) != 55) || (len(v) > 55 && v[55] != '-') {
		return sc, false
	}
	if !hexDecode(sc.traceID[:], v[3:35]) || !hexDecode(sc.spanID[:], v[36:52]) {
		return sc, false
	}
	flags, ok := hexByte(v[53], v[54])
	if !ok || sc.traceID == [16]byte{} || sc.spanID == [8]byte{} {
		return sc, false
	}
	sc.sampled = flags&1 == 1
	return sc, true
}

// validTracestate accepts a tracestate header worth forwarding: at most
// 512 characters (what the specification asks a vendor to propagate at
// least) of printable ASCII. Its list members are not parsed: Fulcrum
// adds none and passes the client's on to the upstream and the exporter.
func validTracestate(v string) bool {
	if len(v) == 0 || len(v) > 512 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

func hexNibble(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false // upper case is invalid in a traceparent
}

func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexNibble(hi)
	l, ok2 := hexNibble(lo)
	return h<<4 | l, ok1 && ok2
}

func hexDecode(dst []byte, s string) bool {
	for i := range dst {
		b, ok := hexByte(s[2*i], s[2*i+1])
		if !ok {
			return false
		}
		dst[i] = b
	}
	return true
}

// traceparent formats sc as a version 00 traceparent.
func (sc *spanContext) traceparent() string {
	var b [55]byte
	b[0], b[1], b[2] = '0', '0', '-'
	for i, x := range sc.traceID {
		b[3+2*i], b[4+2*i] = hexDigits[x>>4], hexDigits[x&15]
	}
	b[35] = '-'
	for i, x := range sc.spanID {
		b[36+2*i], b[37+2*i] = hexDigits[x>>4], hexDigits[x&15]
	}
	b[52], b[53], b[54] = '-', '0', '0'
	if sc.sampled {
		b[54] = '1'
	}
	return string(b[:])
}

// Ids come from math/rand/v2's runtime generator (ChaCha8 per thread, no
// lock): unpredictable enough for trace ids, which are not secrets, and
// some 10 ns each.
func newTraceID() (id [16]byte) {
	for id == [16]byte{} {
		binary.BigEndian.PutUint64(id[:8], rand.Uint64())
		binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}

func newSpanID() (id [8]byte) {
	for id == [8]byte{} {
		binary.BigEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}

// sampler decides which new traces are recorded, as OpenTelemetry's
// samplers do: parent-based (a span follows its parent's sampled flag)
// around a root sampler that is always on, always off, or a trace-id
// ratio.
type sampler struct {
	parentBased bool
	// bound: a root trace is sampled when the trace id's last 8 bytes,
	// shifted right by one, are below it (the SDK's TraceIDRatioBased, so
	// a Go service sampling at the same ratio keeps the same traces).
	bound uint64
	all   bool
}

func ratioSampler(parentBased bool, r float64) sampler {
	switch {
	case r >= 1:
		return sampler{parentBased: parentBased, all: true}
	case r <= 0:
		return sampler{parentBased: parentBased}
	}
	return sampler{parentBased: parentBased, bound: uint64(r * (1 << 63))}
}

func (s sampler) sample(parent *spanContext, traceID *[16]byte) bool {
	if parent != nil && s.parentBased {
		return parent.sampled
	}
	if s.all {
		return true
	}
	return binary.BigEndian.Uint64(traceID[8:])>>1 < s.bound
}

// samplerFor is sample_ratio when set (parent-based), else what
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG say, else the
// specification's default, parent-based always on. Unknown samplers
// (jaeger_remote, xray) fall back to the default.
func samplerFor(ratio float64, env func(string) string) sampler {
	if ratio > 0 {
		return ratioSampler(true, ratio)
	}
	arg := 1.0
	if v, err := strconv.ParseFloat(env("OTEL_TRACES_SAMPLER_ARG"), 64); err == nil && v >= 0 && v <= 1 {
		arg = v
	}
	switch strings.ToLower(env("OTEL_TRACES_SAMPLER")) {
	case "always_on":
		return ratioSampler(false, 1)
	case "always_off":
		return ratioSampler(false, 0)
	case "traceidratio":
		return ratioSampler(false, arg)
	case "parentbased_always_off":
		return ratioSampler(true, 0)
	case "parentbased_traceidratio":
		return ratioSampler(true, arg)
	}
	return ratioSampler(true, 1)
}

// ctxKey keys the current span in a context: a *Span when it records, an
// *unsampled when it does not (its ids are still propagated).
type ctxKey struct{}

// spanCtx is the context that carries a span. It is embedded in the Span
// (or unsampled) it carries, so starting a span allocates once where
// context.WithValue would allocate a second time for its node. It answers
// Value(ctxKey{}) and hands every other question (deadline, cancellation,
// other values) to its parent, as a valueCtx does.
type spanCtx struct {
	context.Context
	v any // the *Span or *unsampled this node is embedded in
}

func (c *spanCtx) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return c.v
	}
	return c.Context.Value(key)
}

// unsampled is a span that is not recorded: only its ids, for the
// upstream's traceparent and its children. Much smaller than a Span, it
// keeps sampled-out requests cheap.
type unsampled struct {
	ctx        spanCtx
	sc         spanContext
	traceState string
}

// withUnsampled returns a context carrying the ids of a span that is not
// recorded.
func withUnsampled(parent context.Context, sc spanContext, traceState string) context.Context {
	u := &unsampled{ctx: spanCtx{Context: parent}, sc: sc, traceState: traceState}
	u.ctx.v = u
	return &u.ctx
}

// withSpan returns a context carrying s.
func withSpan(parent context.Context, s *Span) context.Context {
	s.ctx = spanCtx{Context: parent, v: s}
	return &s.ctx
}

// current returns the ids of the span ctx carries, recorded or not.
func current(ctx context.Context) (sc *spanContext, traceState string) {
	switch v := ctx.Value(ctxKey{}).(type) {
	case *Span:
		return &v.sc, v.traceState
	case *unsampled:
		return &v.sc, v.traceState
	}
	return nil, ""
}

// Inject writes the W3C traceparent (and the client's tracestate) of the
// span ctx carries, the gateway's span for an upstream attempt, on an
// upstream request's headers, replacing any there. With tracing off ctx
// carries no span and nothing is written.
func Inject(ctx context.Context, h http.Header) {
	sc, ts := current(ctx)
	if sc == nil {
		return
	}
	h["Traceparent"] = []string{sc.traceparent()}
	if ts != "" {
		h["Tracestate"] = []string{ts}
	} else {
		delete(h, "Tracestate")
	}
}
