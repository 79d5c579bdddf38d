package telemetry

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// receiver is an in-process OTLP/HTTP collector that decodes each export
// with the generated opentelemetry-proto types: what the hand-written
// encoder sends is checked against the schema, not against itself.
type receiver struct {
	*httptest.Server
	t *testing.T
	// answer, when set, picks the status of the n-th export (from 1).
	answer func(n int) int

	mu       sync.Mutex // guards the following fields
	exports  []*coltrace.ExportTraceServiceRequest
	headers  []http.Header
	received chan struct{} // a value per export, after it is decoded
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, received: make(chan struct{}, 10000)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	n := len(r.headers) + 1
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	if r.answer != nil {
		if code := r.answer(n); code != 200 {
			w.WriteHeader(code)
			return
		}
	}
	if req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		r.t.Errorf("export to %s with content type %q", req.URL.Path, req.Header.Get("Content-Type"))
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			r.t.Errorf("gzip: %v", err)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	var m coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &m); err != nil {
		r.t.Errorf("export is not an ExportTraceServiceRequest: %v", err)
	}
	r.mu.Lock()
	r.exports = append(r.exports, &m)
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
	r.received <- struct{}{}
}

func (r *receiver) spans() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*tracepb.Span
	for _, e := range r.exports {
		for _, rs := range e.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				out = append(out, ss.Spans...)
			}
		}
	}
	return out
}

// attrs turns attributes into a map of plain Go values for cmp.
func attrs(kvs []*commonpb.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		if _, dup := m[kv.Key]; dup {
			m[kv.Key+" (duplicate)"] = true
		}
		m[kv.Key] = value(kv.Value)
	}
	return m
}

func value(v *commonpb.AnyValue) any {
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_ArrayValue:
		var out []any
		for _, e := range x.ArrayValue.Values {
			out = append(out, value(e))
		}
		return out
	}
	return v.String()
}

func newTestTracer(t *testing.T, r *receiver, cfg config.Telemetry, envs map[string]string, o Options) *Tracer {
	t.Helper()
	cfg.OTLP.Endpoint = r.URL
	o.Lookup = env(envs)
	if o.Interval == 0 {
		o.Interval = time.Hour // only ForceFlush, Shutdown and full batches export
	}
	tr, err := New(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	return tr
}

// TestExportWireFormat records a request with every attribute the gateway
// sets, exports it, and checks what a collector decodes: resource, scope,
// ids and parents, names, kinds, times, flags, status, attributes.
func TestExportWireFormat(t *testing.T) {
	r := newReceiver(t)
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	clock := t0
	tr := newTestTracer(t, r, config.Telemetry{ServiceName: "gw", CaptureContent: true}, map[string]string{
		"OTEL_RESOURCE_ATTRIBUTES":   "deployment.environment=prod,service.name=overridden,team=a%20b",
		"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=k%3D1, x-other = 2",
	}, Options{Version: "v1.2.3", Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock }})

	h := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "Tracestate": {"vendor=x"}}
	ctx, sp := tr.StartRequest(context.Background(), h, "POST", "/v1/chat/completions")
	maxTokens, temp, topP, seed := 100, 0.5, 0.9, int64(7)
	sp.Request("chat", "smart", true, &Params{MaxTokens: &maxTokens, Temperature: &temp, TopP: &topP, Seed: &seed, Stop: []string{"a", "b"}, N: 2})
	sp.RequestID("req-1")
	sp.KeyID("key-1")
	sp.Cached()
	sp.Policy("email,phone", "redact")
	sp.Route("smart", "fallback")
	sp.OutputText("hi", "stop")
	actx, at := tr.StartAttempt(ctx, &Attempt{Op: "chat", ProviderType: "openai", ProviderName: "gpu", Hosting: "self_hosted",
		Region: "eu", Model: "llama", N: 1, PassThrough: true})
	at.Response("id-9", "llama-3", []string{"stop", "length"})
	at.Usage(12, 7, 3, true, 1_500_000_000, 250_000_000)
	at.End(200, "")
	_, judge := tr.StartAttempt(ctx, &Attempt{Op: "chat", ProviderType: "anthropic", ProviderName: "an", Hosting: "proprietary", Model: "claude", Start: t0.Add(-time.Second)})
	judge.Judge()
	judge.End(502, "")
	sp.Served("anthropic", "an", "proprietary", 2)
	sp.Usage(12, 7, 0, false, 1_750_000_000, 0)
	sp.End(429, "rate_limit_exceeded")
	sp.End(200, "") // a second End does nothing

	uh := http.Header{}
	Inject(actx, uh)
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.exports) != 1 || len(r.exports[0].ResourceSpans) != 1 || len(r.exports[0].ResourceSpans[0].ScopeSpans) != 1 {
		t.Fatalf("want one export with one resource and one scope: %v", r.exports)
	}
	rs := r.exports[0].ResourceSpans[0]
	if diff := cmp.Diff(map[string]any{
		"deployment.environment": "prod", "team": "a b", "service.name": "gw", "service.version": "v1.2.3",
		"telemetry.sdk.name": "fulcrum", "telemetry.sdk.language": "go", "telemetry.sdk.version": "v1.2.3",
	}, attrs(rs.Resource.Attributes)); diff != "" {
		t.Errorf("resource (-want +got):\n%s", diff)
	}
	if sc := rs.ScopeSpans[0].Scope; sc.Name != scope || sc.Version != "v1.2.3" {
		t.Errorf("scope %v", sc)
	}
	if got := r.headers[0].Get("X-Api-Key") + "|" + r.headers[0].Get("X-Other"); got != "k=1|2" {
		t.Errorf("export headers from OTEL_EXPORTER_OTLP_HEADERS: %q", got)
	}
	spans := rs.ScopeSpans[0].Spans
	if len(spans) != 3 {
		t.Fatalf("got %d spans, want 3", len(spans))
	}
	a, j, s := spans[0], spans[1], spans[2] // in the order they ended

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, x := range spans {
		if hex.EncodeToString(x.TraceId) != traceID || len(x.SpanId) != 8 || x.TraceState != "vendor=x" {
			t.Errorf("span %q: trace %x span %x state %q", x.Name, x.TraceId, x.SpanId, x.TraceState)
		}
	}
	if hex.EncodeToString(s.ParentSpanId) != "00f067aa0ba902b7" || s.Flags != 0x301 {
		t.Errorf("server span parent %x flags %#x, want the client's span and sampled|remote parent", s.ParentSpanId, s.Flags)
	}
	if string(a.ParentSpanId) != string(s.SpanId) || string(j.ParentSpanId) != string(s.SpanId) || a.Flags != 0x101 {
		t.Errorf("attempts not children of the server span (flags %#x)", a.Flags)
	}
	want := "00-" + traceID + "-" + hex.EncodeToString(a.SpanId) + "-01"
	if uh.Get("Traceparent") != want || uh.Get("Tracestate") != "vendor=x" {
		t.Errorf("injected %q %q, want %q", uh.Get("Traceparent"), uh.Get("Tracestate"), want)
	}
	if s.Name != "chat smart" || s.Kind != tracepb.Span_SPAN_KIND_SERVER || a.Name != "chat llama" || a.Kind != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("names/kinds: %q %v, %q %v", s.Name, s.Kind, a.Name, a.Kind)
	}
	ns := func(n int) uint64 { return uint64(t0.Add(time.Duration(n) * time.Millisecond).UnixNano()) }
	if s.StartTimeUnixNano != ns(1) || a.StartTimeUnixNano != ns(2) || a.EndTimeUnixNano != ns(3) ||
		j.StartTimeUnixNano != uint64(t0.Add(-time.Second).UnixNano()) || s.EndTimeUnixNano != ns(5) {
		t.Errorf("times: server %d-%d attempt %d-%d judge %d", s.StartTimeUnixNano, s.EndTimeUnixNano, a.StartTimeUnixNano, a.EndTimeUnixNano, j.StartTimeUnixNano)
	}
	if s.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || s.Status.GetMessage() != "rate_limit_exceeded" ||
		j.Status.GetMessage() != "502" || a.Status != nil {
		t.Errorf("status: server %v judge %v attempt %v", s.Status, j.Status, a.Status)
	}
	if diff := cmp.Diff(map[string]any{
		"http.request.method": "POST", "url.path": "/v1/chat/completions",
		"gen_ai.operation.name": "chat", "gen_ai.request.model": "smart", "gen_ai.provider.name": "anthropic",
		"fulcrum.provider": "an", "fulcrum.hosting": "proprietary", "fulcrum.attempts": int64(2), "fulcrum.stream": true,
		"gen_ai.request.max_tokens": int64(100), "gen_ai.request.temperature": 0.5, "gen_ai.request.top_p": 0.9,
		"gen_ai.request.seed": int64(7), "gen_ai.request.stop_sequences": []any{"a", "b"}, "gen_ai.request.choice.count": int64(2),
		"fulcrum.request_id": "req-1", "fulcrum.key_id": "key-1", "fulcrum.cached": true,
		"gen_ai.usage.input_tokens": int64(12), "gen_ai.usage.output_tokens": int64(7), "fulcrum.cost_usd": 1.75,
		"fulcrum.data_classes": []any{"email", "phone"}, "fulcrum.policy.action": "redact",
		"fulcrum.route": "smart", "fulcrum.route.strategy": "fallback",
		"gen_ai.output.messages":    `[{"role":"assistant","parts":[{"type":"text","content":"hi"}],"finish_reason":"stop"}]`,
		"http.response.status_code": int64(429), "error.type": "rate_limit_exceeded",
	}, attrs(s.Attributes)); diff != "" {
		t.Errorf("server span attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.request.model": "llama", "gen_ai.provider.name": "gpu",
		"fulcrum.provider": "gpu", "fulcrum.hosting": "self_hosted", "fulcrum.region": "eu", "fulcrum.attempt": int64(1),
		"fulcrum.pass_through": true, "gen_ai.response.id": "id-9", "gen_ai.response.model": "llama-3",
		"gen_ai.response.finish_reasons": []any{"stop", "length"},
		"gen_ai.usage.input_tokens":      int64(12), "gen_ai.usage.output_tokens": int64(7), "gen_ai.usage.cache_read.input_tokens": int64(3),
		"fulcrum.usage.estimated": true, "fulcrum.cost_usd": 1.5, "fulcrum.reference_cost_usd": 0.25,
		"http.response.status_code": int64(200),
	}, attrs(a.Attributes)); diff != "" {
		t.Errorf("attempt span attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude", "gen_ai.provider.name": "anthropic",
		"fulcrum.provider": "an", "fulcrum.hosting": "proprietary", "fulcrum.attempt": int64(0), "fulcrum.judge": true,
		"http.response.status_code": int64(502), "error.type": "502",
	}, attrs(j.Attributes)); diff != "" {
		t.Errorf("judge span attributes (-want +got):\n%s", diff)
	}
}

// TestExportBatchesAndRetries: a full batch is exported without a flush,
// gzip when asked, and a 503 is retried (the spans arrive once).
func TestExportBatchesAndRetries(t *testing.T) {
	r := newReceiver(t)
	r.answer = func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return 200
	}
	tr := newTestTracer(t, r, config.Telemetry{}, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip"}, Options{})
	for range batchSpans {
		_, sp := tr.StartRequest(context.Background(), nil, "POST", "/v1/embeddings")
		sp.End(200, "")
	}
	select {
	case <-r.received:
	case <-time.After(10 * time.Second):
		t.Fatal("a full batch was not exported")
	}
	if n := len(r.spans()); n != batchSpans {
		t.Errorf("got %d spans, want %d", n, batchSpans)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.headers) != 2 || r.headers[1].Get("Content-Encoding") != "gzip" {
		t.Errorf("want a refused export then a gzip one, got %d exports", len(r.headers))
	}
}

// TestExportQueueFull: while an export is in flight, spans queue up to
// queueSpans; more are dropped, not buffered without bound.
func TestExportQueueFull(t *testing.T) {
	r := newReceiver(t)
	release, arrived := make(chan struct{}), make(chan struct{})
	r.answer = func(n int) int {
		if n == 1 {
			close(arrived)
			<-release
		}
		return 200
	}
	tr := newTestTracer(t, r, config.Telemetry{}, nil, Options{})
	end := func(n int) {
		for range n {
			_, sp := tr.StartRequest(context.Background(), nil, "POST", "/v1/chat/completions")
			sp.End(200, "")
		}
	}
	end(batchSpans)
	<-arrived // the first batch is out of the queue, its export blocked
	end(queueSpans + 10)
	close(release)
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(r.spans()); n != batchSpans+queueSpans {
		t.Errorf("got %d spans, want %d (the rest dropped)", n, batchSpans+queueSpans)
	}
}

// TestEndAt: a Timed attempt reads no clock; EndAt gives its start and
// end (the gateway's attempt record), and one ended without them is
// exported with zero length at its end rather than starting at 1970.
func TestEndAt(t *testing.T) {
	r := newReceiver(t)
	reads := 0
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	tr := newTestTracer(t, r, config.Telemetry{}, nil, Options{Now: func() time.Time { reads++; return t0 }})
	_, timed := tr.StartAttempt(context.Background(), &Attempt{Op: "chat", Model: "m", N: 1, Timed: true})
	start := t0.Add(-time.Second)
	timed.EndAt(200, "", start, start.Add(250*time.Millisecond))
	_, bare := tr.StartAttempt(context.Background(), &Attempt{Op: "chat", Model: "m", N: 2, Timed: true})
	bare.End(0, "")
	if reads != 1 {
		t.Errorf("%d clock reads, want 1 (the untimed End)", reads)
	}
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := r.spans()
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	for i, want := range [][2]time.Time{{start, start.Add(250 * time.Millisecond)}, {t0, t0}} {
		got := [2]time.Time{time.Unix(0, int64(spans[i].StartTimeUnixNano)).UTC(), time.Unix(0, int64(spans[i].EndTimeUnixNano)).UTC()}
		if !got[0].Equal(want[0]) || !got[1].Equal(want[1]) {
			t.Errorf("span %d: start, end %v, want %v", i, got, want)
		}
	}
}

// TestShutdown: Shutdown exports what is pending, ends the exporter's
// goroutine, and spans ending later are dropped.
func TestShutdown(t *testing.T) {
	r := newReceiver(t)
	tr := newTestTracer(t, r, config.Telemetry{}, nil, Options{})
	_, sp := tr.StartRequest(context.Background(), nil, "POST", "/v1/chat/completions")
	_, late := tr.StartRequest(context.Background(), nil, "POST", "/v1/chat/completions")
	sp.End(200, "")
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tr.exp.done:
	default:
		t.Error("exporter goroutine still running after Shutdown")
	}
	late.End(200, "")
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if n := len(r.spans()); n != 1 {
		t.Errorf("got %d spans, want 1", n)
	}
}

func TestPartialSuccess(t *testing.T) {
	b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{PartialSuccess: &coltrace.ExportTracePartialSuccess{RejectedSpans: 3, ErrorMessage: "too big"}})
	if n, msg := partialSuccess(b); n != 3 || msg != "too big" {
		t.Errorf("partialSuccess = %d, %q", n, msg)
	}
	if n, msg := partialSuccess([]byte{0xff}); n != 0 || msg != "" {
		t.Errorf("garbage: %d, %q", n, msg)
	}
}
