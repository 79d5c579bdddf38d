// Package telemetry exports OpenTelemetry traces of the gateway's requests
// with the GenAI semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/): one
// server span per client request and, under it, one client span per
// upstream attempt (retries, fallbacks and cascade tiers each get their
// own), plus Fulcrum's attributes (hosting, data classes, policy action,
// route, attempt, cost). W3C trace context is read from the client's
// traceparent header and written on every upstream request (Inject).
//
// It is not the OpenTelemetry SDK: a span is a flat struct with a field
// per attribute the gateway records, encoded straight to OTLP protobuf
// when it ends and posted in batches by one goroutine (OTLP/HTTP). The SDK
// and its exporter cost 30–60 µs of CPU and over 100 allocations per
// request; this costs a few µs and a handful (docs/benchmarks.md#tracing).
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
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// scope is the instrumentation scope name spans are reported under.
const scope = "github.com/fulcrumhq/fulcrum"

// Tracer starts the gateway's spans. A nil *Tracer is valid and traces
// nothing.
type Tracer struct {
	exp     *exporter
	sampler sampler
	content bool
	clock   func() time.Time
}

// Options are what New needs besides the config.
type Options struct {
	// Lookup reads environment variables (os.LookupEnv in production).
	Lookup func(string) (string, bool)
	// Version is the service.version resource attribute and the
	// instrumentation scope's version.
	Version string
	// Log receives export failures. Default: discarded.
	Log *slog.Logger
	// Now is the clock spans are timed with. Default time.Now.
	Now func() time.Time
	// Interval is how often pending spans are exported. Default 5s (the
	// OTEL_BSP_SCHEDULE_DELAY default); tests set less.
	Interval time.Duration
}

// Enabled reports whether cfg and the environment turn tracing on: an
// OTLP endpoint in the config or in OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT,
// unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
func Enabled(cfg config.Telemetry, lookup func(string) (string, bool)) bool {
	env := envFunc(lookup)
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(env("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return cfg.OTLP.Endpoint != "" || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || env("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

func envFunc(lookup func(string) (string, bool)) func(string) string {
	return func(k string) string {
		if lookup == nil {
			return ""
		}
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
}

// New builds the tracer cfg asks for, or returns nil (tracing off) when
// Enabled says no. The exporter reads the standard OTEL_EXPORTER_OTLP_*
// variables (endpoint, headers, timeout, compression, certificates; the
// _TRACES_ ones first), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and
// OTEL_TRACES_SAMPLER(_ARG); what cfg sets takes precedence.
func New(ctx context.Context, cfg config.Telemetry, o Options) (*Tracer, error) {
	if !Enabled(cfg, o.Lookup) {
		return nil, nil
	}
	env := envFunc(o.Lookup)
	both := func(k string) string { // OTEL_EXPORTER_OTLP_TRACES_<k>, else OTEL_EXPORTER_OTLP_<k>
		if v := env("OTEL_EXPORTER_OTLP_TRACES_" + k); v != "" {
			return v
		}
		return env("OTEL_EXPORTER_OTLP_" + k)
	}
	e := &exporter{log: o.Log, interval: o.Interval, headers: map[string]string{}}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.interval <= 0 {
		e.interval = 5 * time.Second
	}
	var err error
	switch {
	case cfg.OTLP.Endpoint != "":
		e.url, err = tracesURL(cfg.OTLP.Endpoint)
	case env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "":
		// The signal's own endpoint is used as is (OTLP exporter spec).
		e.url, err = checkURL(env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
	default:
		e.url, err = tracesURL(env("OTEL_EXPORTER_OTLP_ENDPOINT"))
	}
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		for _, kv := range parseList(env(k)) {
			e.headers[kv[0]] = kv[1]
		}
	}
	for k, v := range cfg.OTLP.Headers {
		e.headers[k] = v
	}
	e.timeout = cfg.OTLP.Timeout.D()
	if ms, err := strconv.Atoi(both("TIMEOUT")); e.timeout <= 0 && err == nil && ms > 0 {
		e.timeout = time.Duration(ms) * time.Millisecond
	}
	if e.timeout <= 0 {
		e.timeout = 10 * time.Second
	}
	switch c := strings.ToLower(both("COMPRESSION")); c {
	case "gzip":
		e.gzip = true
	case "", "none":
	default:
		return nil, fmt.Errorf("telemetry: OTEL_EXPORTER_OTLP_COMPRESSION %q: want gzip or none", c)
	}
	tlsConf, err := tlsConfig(both("CERTIFICATE"), both("CLIENT_CERTIFICATE"), both("CLIENT_KEY"))
	if err != nil {
		return nil, err
	}
	e.client = &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}}
	e.resource = resourceFor(cfg.ServiceName, o.Version, env)
	e.scope = appendStringField(nil, fScopeName, scope)
	if o.Version != "" {
		e.scope = appendStringField(e.scope, fScopeVersion, o.Version)
	}
	e.start()
	return &Tracer{exp: e, sampler: samplerFor(cfg.SampleRatio, env), content: cfg.CaptureContent, clock: o.Now}, nil
}

// resourceFor encodes the Resource spans are reported under:
// OTEL_RESOURCE_ATTRIBUTES, then service.name (the config's, else
// OTEL_SERVICE_NAME, else the variable's, else "fulcrum"),
// service.version and the telemetry.sdk.* attributes.
func resourceFor(service, version string, env func(string) string) []byte {
	var keys, vals []string
	put := func(k, v string) {
		for i := range keys {
			if keys[i] == k {
				vals[i] = v
				return
			}
		}
		keys, vals = append(keys, k), append(vals, v)
	}
	for _, kv := range parseList(env("OTEL_RESOURCE_ATTRIBUTES")) {
		put(kv[0], kv[1])
	}
	if service == "" {
		service = env("OTEL_SERVICE_NAME")
	}
	if service != "" {
		put("service.name", service)
	} else if !contains(keys, "service.name") {
		put("service.name", "fulcrum")
	}
	if version != "" {
		put("service.version", version)
	}
	put("telemetry.sdk.name", "fulcrum")
	put("telemetry.sdk.language", "go")
	if version != "" {
		put("telemetry.sdk.version", version)
	}
	var b []byte
	for i := range keys {
		b = appendStrAttr(b, fResourceAttributes, keys[i], vals[i])
	}
	return b
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// parseList reads the "key1=value1,key2=value2" lists of
// OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES (W3C baggage
// syntax: values percent-encoded). Malformed members are skipped.
func parseList(s string) [][2]string {
	var out [][2]string
	for _, m := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(m, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			continue
		}
		if dv, err := url.PathUnescape(strings.TrimSpace(v)); err == nil {
			out = append(out, [2]string{k, dv})
		}
	}
	return out
}

// tlsConfig builds the exporter's TLS settings from the certificate
// variables (PEM files): a CA to trust, and a client certificate and key
// for mutual TLS. nil when none is set (the system roots).
func tlsConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp certificate: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("telemetry: otlp certificate %s: no PEM certificate", caFile)
		}
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func checkURL(e string) (string, error) {
	u, err := url.Parse(e)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("telemetry: otlp endpoint %q is not an http(s) URL", e)
	}
	return u.String(), nil
}

// tracesURL turns a collector base URL into its traces URL, as the OTLP
// specification does for OTEL_EXPORTER_OTLP_ENDPOINT; a URL already ending
// in /v1/traces is used as is.
func tracesURL(e string) (string, error) {
	if _, err := checkURL(e); err != nil {
		return "", err
	}
	u, _ := url.Parse(e)
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// Shutdown exports what is buffered and stops the exporter; spans that
// end later are dropped.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.exp.flush(ctx, true)
}

// ForceFlush exports the spans that have ended (tests, benchmarks).
func (t *Tracer) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.exp.flush(ctx, false)
}

// CaptureContent reports whether prompts and completions may be exported.
func (t *Tracer) CaptureContent() bool { return t != nil && t.content }

// StartRequest starts the server span of a client request, as a child of
// the client's traceparent when it sent a valid one (its sampled flag
// decides, and its tracestate is passed on). name is a placeholder
// ("POST /v1/chat/completions") until Request names it by operation and
// model. A request that is not sampled gets a nil span (it records
// nothing); its ids still reach the upstream's traceparent.
func (t *Tracer) StartRequest(ctx context.Context, h http.Header, method, path string) (context.Context, *Span) {
	if t == nil {
		return ctx, nil
	}
	var (
		sc           spanContext
		parentID     [8]byte
		parent       *spanContext
		traceState   string
		remoteParent bool
	)
	// Server-side headers are canonical: index the map, no key lookup work.
	if v := h["Traceparent"]; len(v) == 1 {
		if p, ok := parseTraceparent(v[0]); ok {
			parent, remoteParent = &p, true
			sc.traceID, parentID = p.traceID, p.spanID
			if ts := strings.Join(h["Tracestate"], ","); validTracestate(ts) {
				traceState = ts
			}
		}
	}
	if parent == nil {
		sc.traceID = newTraceID()
	}
	sc.spanID = newSpanID()
	sc.sampled = t.sampler.sample(parent, &sc.traceID)
	if !sc.sampled {
		return withUnsampled(ctx, sc, traceState), nil
	}
	s := newSpan(sc, traceState, &spanData{t: t, kind: kindServer, parent: parentID, remoteParent: remoteParent,
		start: t.now(), method: method, path: path, name1: method, name2: path})
	return withSpan(ctx, s), s
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
	// Timed says the caller gives the span's start and end when it ends
	// (EndAt): StartAttempt reads no clock.
	Timed bool
}

// StartAttempt starts the client span of one upstream attempt under the
// request's span in ctx (a new trace when there is none). The returned
// context carries it, so the upstream request's traceparent names this
// span (Inject).
func (t *Tracer) StartAttempt(ctx context.Context, a *Attempt) (context.Context, *Span) {
	if t == nil {
		return ctx, nil
	}
	var sc spanContext
	var parentID [8]byte
	p, traceState := current(ctx)
	if p != nil {
		sc.traceID, parentID = p.traceID, p.spanID
		sc.sampled = p.sampled // parent-based: a child follows its parent
	} else {
		sc.traceID = newTraceID()
		sc.sampled = t.sampler.sample(nil, &sc.traceID)
	}
	sc.spanID = newSpanID()
	if !sc.sampled {
		return withUnsampled(ctx, sc, traceState), nil
	}
	s := newSpan(sc, traceState, &spanData{t: t, kind: kindClient, parent: parentID,
		name1: a.Op, name2: a.Model, op: a.Op, model: a.Model,
		providerName: ProviderNameFor(a.ProviderType, a.ProviderName, a.Hosting),
		provider:     a.ProviderName, hosting: a.Hosting, region: a.Region, attempt: int64(a.N)})
	if a.PassThrough {
		s.flag |= flagPassThrough
	}
	switch {
	case !a.Start.IsZero():
		s.start = a.Start.UnixNano()
	case !a.Timed:
		s.start = t.now()
	}
	return withSpan(ctx, s), s
}
