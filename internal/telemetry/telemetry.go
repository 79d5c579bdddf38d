// Package telemetry exports OpenTelemetry traces of the gateway's requests
// with the GenAI semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/): one
// server span per client request and, under it, one client span per
// upstream attempt (retries, fallbacks and cascade tiers each get their
// own), plus Fulcrum's attributes (hosting, data classes, policy action,
// route, attempt, cost). W3C trace context is read from the client's
// traceparent header and written on every upstream request.
//
// Tracing is off unless an OTLP endpoint is configured. Off, the gateway
// holds a nil *Tracer and every method here is a no-op on nil receivers:
// no span, no attribute, no allocation.
//
// Prompts and completions are never exported unless CaptureContent is set,
// and then only in the form that was forwarded upstream (see Content).
package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// scope is the instrumentation scope name spans are reported under.
const scope = "github.com/fulcrumhq/fulcrum"

// Tracer starts the gateway's spans. A nil *Tracer is valid and traces
// nothing.
type Tracer struct {
	tp      *sdktrace.TracerProvider
	tr      trace.Tracer
	content bool
}

// Options are what New needs besides the config.
type Options struct {
	// Lookup reads environment variables (os.LookupEnv in production).
	Lookup func(string) (string, bool)
	// Version is the service.version resource attribute.
	Version string
	// Exporter, when set, replaces the OTLP/HTTP exporter (tests).
	Exporter sdktrace.SpanExporter
	// Sync exports each span as it ends instead of in batches (tests).
	Sync bool
}

// Enabled reports whether cfg and the environment turn tracing on: an
// OTLP endpoint in the config or in OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT,
// unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
func Enabled(cfg config.Telemetry, lookup func(string) (string, bool)) bool {
	env := func(k string) string {
		if lookup == nil {
			return ""
		}
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(env("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return cfg.OTLP.Endpoint != "" || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || env("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// New builds the tracer cfg asks for, or returns nil (tracing off) when
// Enabled says no. The exporter reads the standard OTEL_EXPORTER_OTLP_*
// variables (endpoint, headers, timeout, compression, certificates); what
// cfg sets takes precedence.
func New(ctx context.Context, cfg config.Telemetry, o Options) (*Tracer, error) {
	if o.Exporter == nil && !Enabled(cfg, o.Lookup) {
		return nil, nil
	}
	exp := o.Exporter
	if exp == nil {
		var opts []otlptracehttp.Option
		if e := cfg.OTLP.Endpoint; e != "" {
			u, err := tracesURL(e)
			if err != nil {
				return nil, err
			}
			opts = append(opts, otlptracehttp.WithEndpointURL(u))
		}
		if len(cfg.OTLP.Headers) > 0 {
			opts = append(opts, otlptracehttp.WithHeaders(cfg.OTLP.Headers))
		}
		if d := cfg.OTLP.Timeout.D(); d > 0 {
			opts = append(opts, otlptracehttp.WithTimeout(d))
		}
		var err error
		if exp, err = otlptracehttp.New(ctx, opts...); err != nil {
			return nil, fmt.Errorf("telemetry: otlp exporter: %w", err)
		}
	}
	name := cfg.ServiceName
	if name == "" {
		if v, ok := lookupEnv(o.Lookup, "OTEL_SERVICE_NAME"); ok && v != "" {
			name = v
		} else {
			name = "fulcrum"
		}
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", name)}
	if o.Version != "" {
		attrs = append(attrs, attribute.String("service.version", o.Version))
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithAttributes(attrs...))
	if err != nil && res == nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if o.Sync {
		tpOpts = append(tpOpts, sdktrace.WithSyncer(exp))
	} else {
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	}
	if r := cfg.SampleRatio; r > 0 {
		// Without it the SDK reads OTEL_TRACES_SAMPLER(_ARG), defaulting
		// to parent-based always-on.
		tpOpts = append(tpOpts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r))))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	return &Tracer{tp: tp, tr: tp.Tracer(scope, trace.WithInstrumentationVersion(o.Version)), content: cfg.CaptureContent}, nil
}

func lookupEnv(lookup func(string) (string, bool), k string) (string, bool) {
	if lookup == nil {
		return "", false
	}
	return lookup(k)
}

// tracesURL turns a collector base URL into its traces URL, as the OTLP
// specification does for OTEL_EXPORTER_OTLP_ENDPOINT; a URL already ending
// in /v1/traces is used as is.
func tracesURL(e string) (string, error) {
	u, err := url.Parse(e)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("telemetry: otlp endpoint %q is not a URL", e)
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// Shutdown exports what is buffered and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// ForceFlush exports the spans that have ended (tests, benchmarks).
func (t *Tracer) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.ForceFlush(ctx)
}

// CaptureContent reports whether prompts and completions may be exported.
func (t *Tracer) CaptureContent() bool { return t != nil && t.content }

// w3c reads and writes traceparent and tracestate.
var w3c = propagation.TraceContext{}

// Span is one span being recorded. A nil *Span is valid and records
// nothing; so is a span that was not sampled.
type Span struct {
	s trace.Span
	// kv gathers the attributes set while the span is open; End sets them
	// in one call (each SetAttributes call has a cost of its own).
	kv []attribute.KeyValue
}

// StartRequest starts the server span of a client request, as a child of
// the client's traceparent when it sent one. name is a placeholder
// ("POST /v1/chat/completions") until Request names it by operation and
// model.
func (t *Tracer) StartRequest(ctx context.Context, h http.Header, method, path string) (context.Context, *Span) {
	if t == nil {
		return ctx, nil
	}
	ctx = w3c.Extract(ctx, propagation.HeaderCarrier(h))
	ctx, s := t.tr.Start(ctx, method+" "+path, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("url.path", path)))
	return ctx, &Span{s: s, kv: make([]attribute.KeyValue, 0, 24)}
}

// Attempt describes an upstream attempt as it starts.
type Attempt struct {
	// Op is the GenAI operation: "chat" or "embeddings".
	Op string
	// ProviderType is the adapter (openai, anthropic, ...), ProviderName
	// the operator's name for the provider.
	ProviderType, ProviderName string
	// Hosting is "self_hosted" or "proprietary"; Region may be empty.
	Hosting, Region string
	// Model is the upstream model name.
	Model string
	// N counts attempts within the request from 1 (0 for a judge call).
	N int
	// PassThrough is true when the client's body is forwarded unchanged.
	PassThrough bool
	// Start, when not zero, backdates the span (a call recorded after it
	// was made).
	Start time.Time
}

// StartAttempt starts the client span of one upstream attempt under the
// request's span in ctx. The returned context carries it, so the
// upstream request's traceparent names this span (Inject).
func (t *Tracer) StartAttempt(ctx context.Context, a *Attempt) (context.Context, *Span) {
	if t == nil {
		return ctx, nil
	}
	kv := make([]attribute.KeyValue, 0, 20)
	kv = append(kv,
		attribute.String(OperationName, a.Op),
		attribute.String(ProviderName, ProviderNameFor(a.ProviderType, a.ProviderName, a.Hosting)),
		attribute.String(RequestModel, a.Model),
		attribute.String(AttrProvider, a.ProviderName),
		attribute.String(AttrHosting, a.Hosting),
		attribute.Int(AttrAttempt, a.N),
	)
	if a.PassThrough {
		kv = append(kv, attribute.Bool(AttrPassThrough, true))
	}
	if a.Region != "" {
		kv = append(kv, attribute.String(AttrRegion, a.Region))
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	if !a.Start.IsZero() {
		opts = append(opts, trace.WithTimestamp(a.Start))
	}
	ctx, s := t.tr.Start(ctx, a.Op+" "+a.Model, opts...)
	return ctx, &Span{s: s, kv: kv}
}

// Recording reports whether the span records attributes (a nil span, or
// one not sampled, does not: skip work done only for it).
func (s *Span) Recording() bool { return s != nil && s.s.IsRecording() }

// TraceID is the span's trace id in hex ("" for a nil span).
func (s *Span) TraceID() string {
	if s == nil {
		return ""
	}
	return s.s.SpanContext().TraceID().String()
}

// Request names a server span by operation and requested model (or
// route) and records the request's parameters.
func (s *Span) Request(op, model string, stream bool, p *Params) {
	if !s.Recording() {
		return
	}
	s.s.SetName(op + " " + model)
	kv := []attribute.KeyValue{
		attribute.String(OperationName, op),
		attribute.String(RequestModel, model),
	}
	if stream {
		kv = append(kv, attribute.Bool(AttrStream, true))
	}
	if p != nil {
		if p.MaxTokens != nil {
			kv = append(kv, attribute.Int(RequestMaxTokens, *p.MaxTokens))
		}
		if p.Temperature != nil {
			kv = append(kv, attribute.Float64(RequestTemperature, *p.Temperature))
		}
		if p.TopP != nil {
			kv = append(kv, attribute.Float64(RequestTopP, *p.TopP))
		}
		if p.Seed != nil {
			kv = append(kv, attribute.Int64(RequestSeed, *p.Seed))
		}
		if len(p.Stop) > 0 {
			kv = append(kv, attribute.StringSlice(RequestStopSequences, p.Stop))
		}
		if p.N > 1 {
			kv = append(kv, attribute.Int(RequestChoiceCount, p.N))
		}
	}
	s.kv = append(s.kv, kv...)
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
	var kv []attribute.KeyValue
	if id != "" {
		kv = append(kv, attribute.String(ResponseID, id))
	}
	if model != "" {
		kv = append(kv, attribute.String(ResponseModel, model))
	}
	if len(finish) > 0 {
		kv = append(kv, attribute.StringSlice(ResponseFinishReasons, finish))
	}
	s.kv = append(s.kv, kv...)
}

// Usage records token counts and the cost in nanodollars (USD × 1e9);
// reference is what a self-hosted answer would have cost on its reference
// model (0: none).
func (s *Span) Usage(inputTokens, outputTokens, cacheRead int64, estimated bool, costNanos, referenceNanos int64) {
	if !s.Recording() {
		return
	}
	kv := []attribute.KeyValue{
		attribute.Int64(UsageInputTokens, inputTokens),
		attribute.Int64(UsageOutputTokens, outputTokens),
		attribute.Float64(AttrCostUSD, float64(costNanos)/1e9),
	}
	if cacheRead > 0 {
		kv = append(kv, attribute.Int64(UsageCacheReadTokens, cacheRead))
	}
	if estimated {
		kv = append(kv, attribute.Bool(AttrUsageEstimated, true))
	}
	if referenceNanos > 0 {
		kv = append(kv, attribute.Float64(AttrReferenceCostUSD, float64(referenceNanos)/1e9))
	}
	s.kv = append(s.kv, kv...)
}

// Cost records a cost alone (a request whose attempts carried no usage).
func (s *Span) Cost(costNanos int64) {
	if !s.Recording() {
		return
	}
	s.kv = append(s.kv, attribute.Float64(AttrCostUSD, float64(costNanos)/1e9))
}

// Policy records the policy verdict: the data classes found or declared
// (comma-separated names, never values) and the action taken.
func (s *Span) Policy(classes, action string) {
	if !s.Recording() || (classes == "" && action == "") {
		return
	}
	var kv []attribute.KeyValue
	if classes != "" {
		kv = append(kv, attribute.StringSlice(AttrDataClasses, strings.Split(classes, ",")))
	}
	if action != "" {
		kv = append(kv, attribute.String(AttrPolicyAction, action))
	}
	s.kv = append(s.kv, kv...)
}

// Route records the plan that served the request: the route's name and
// strategy ("model" for a plain model).
func (s *Span) Route(name, strategy string) {
	if !s.Recording() {
		return
	}
	s.kv = append(s.kv, attribute.String(AttrRoute, name), attribute.String(AttrRouteStrategy, strategy))
}

// Served records the provider that answered a request (server span).
func (s *Span) Served(providerType, providerName, hosting string, attempts int) {
	if !s.Recording() {
		return
	}
	s.kv = append(s.kv,
		attribute.String(ProviderName, ProviderNameFor(providerType, providerName, hosting)),
		attribute.String(AttrProvider, providerName),
		attribute.String(AttrHosting, hosting),
		attribute.Int(AttrAttempts, attempts),
	)
}

// Set adds attributes (Fulcrum's own, such as tags or the key id).
func (s *Span) Set(kv ...attribute.KeyValue) {
	if !s.Recording() {
		return
	}
	s.kv = append(s.kv, kv...)
}

// End closes the span with the HTTP status of its outcome. A status of
// 400 or more marks the span as an error with errType (the error code) as
// error.type, per the conventions.
func (s *Span) End(status int, errType string) {
	if s == nil {
		return
	}
	if s.s.IsRecording() {
		if status > 0 {
			s.kv = append(s.kv, attribute.Int("http.response.status_code", status))
		}
		if status >= 400 {
			if errType == "" {
				errType = strconv.Itoa(status)
			}
			s.kv = append(s.kv, attribute.String(ErrorType, errType))
			s.s.SetStatus(codes.Error, errType)
		}
		s.s.SetAttributes(s.kv...)
	}
	s.s.End()
}
