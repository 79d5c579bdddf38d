package app

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// otlpReceiver is an in-process OTLP/HTTP collector: it decodes each
// protobuf ExportTraceServiceRequest posted to /v1/traces and keeps the
// spans, with the headers the exporter sent.
type otlpReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	spans   []*tracepb.Span
	service string
	headers http.Header
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	rcv := &otlpReceiver{}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("export to %s with content type %q", r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Errorf("export body is not an ExportTraceServiceRequest: %v", err)
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		rcv.headers = r.Header.Clone()
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.name" {
					rcv.service = a.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				rcv.spans = append(rcv.spans, ss.Spans...)
			}
		}
		rcv.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

func (r *otlpReceiver) all() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

func attr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return nil
}

func strAttr(s *tracepb.Span, key string) string { return attr(s, key).GetStringValue() }
func intAttr(s *tracepb.Span, key string) int64  { return attr(s, key).GetIntValue() }

const (
	clientTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpanID  = "00f067aa0ba902b7"
)

// traceGateway builds a gateway exporting to rcv, with a route whose first
// target is down (connection refused) and whose second is the OpenAI fake.
func traceGateway(t *testing.T, rcv *otlpReceiver, oa *fake.OpenAI, extra string) *Gateway {
	t.Helper()
	c := parse(t, `
storage: { data_dir: `+t.TempDir()+` }
telemetry:
  service_name: fulcrum-test
  otlp: { endpoint: "`+rcv.URL+`", headers: { x-collector-key: sekret } }
`+extra+`
providers:
  - { name: down, type: openai, base_url: "http://127.0.0.1:1/v1", api_key: x }
  - { name: oa, type: openai, base_url: "`+oa.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m-down, provider: down, upstream: gpt-4o-down }
  - { name: m, provider: oa, upstream: gpt-4o }
routes:
  - { name: r, strategy: fallback, targets: [m-down, m] }
`)
	g, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func post(t *testing.T, url, body string, h map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestTracingOTLP sends a request with a client traceparent through a
// fallback route and checks what an OTLP collector receives: one server
// span (child of the client's span) with GenAI and Fulcrum attributes, one
// client span per upstream attempt under it, and the upstream request's
// traceparent naming the attempt span that made it.
func TestTracingOTLP(t *testing.T) {
	rcv := newOTLPReceiver(t)
	oa := fake.NewOpenAI()
	defer oa.Close()
	g := traceGateway(t, rcv, oa, "")
	srv := httptest.NewServer(g.Handler)
	defer srv.Close()

	resp := post(t, srv.URL+"/v1/chat/completions", `{"model":"r","max_tokens":50,"temperature":0.5,"messages":[{"role":"user","content":"hello there"}]}`,
		map[string]string{"traceparent": "00-" + clientTraceID + "-" + clientSpanID + "-01"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err := g.Close(); err != nil { // flushes the batch
		t.Fatal(err)
	}
	spans := rcv.all()
	if len(spans) != 3 {
		t.Fatalf("got %d spans, want 3 (server + 2 attempts): %v", len(spans), spans)
	}
	if rcv.service != "fulcrum-test" {
		t.Errorf("service.name %q", rcv.service)
	}
	if got := rcv.headers.Get("X-Collector-Key"); got != "sekret" {
		t.Errorf("configured export header not sent: %q", got)
	}
	var server *tracepb.Span
	attempts := map[int64]*tracepb.Span{}
	for _, s := range spans {
		if got := hex.EncodeToString(s.TraceId); got != clientTraceID {
			t.Errorf("span %q trace id %s, want the client's %s", s.Name, got, clientTraceID)
		}
		switch s.Kind {
		case tracepb.Span_SPAN_KIND_SERVER:
			server = s
		case tracepb.Span_SPAN_KIND_CLIENT:
			attempts[intAttr(s, "fulcrum.attempt")] = s
		}
	}
	if server == nil || len(attempts) != 2 {
		t.Fatalf("want a server span and attempts 1 and 2, got %v", spans)
	}
	if got := hex.EncodeToString(server.ParentSpanId); got != clientSpanID {
		t.Errorf("server span parent %s, want the client's span %s", got, clientSpanID)
	}
	if server.Name != "chat r" {
		t.Errorf("server span name %q, want %q", server.Name, "chat r")
	}
	for k, want := range map[string]string{
		"gen_ai.operation.name": "chat", "gen_ai.request.model": "r", "gen_ai.provider.name": "openai",
		"fulcrum.provider": "oa", "fulcrum.hosting": "proprietary", "fulcrum.route": "r", "fulcrum.route.strategy": "fallback",
		"fulcrum.policy.action": "none",
	} {
		if got := strAttr(server, k); got != want {
			t.Errorf("server %s = %q, want %q", k, got, want)
		}
	}
	if intAttr(server, "gen_ai.usage.input_tokens") != fake.InputTokens || intAttr(server, "gen_ai.usage.output_tokens") != fake.OutputTokens {
		t.Errorf("server usage: %v / %v", attr(server, "gen_ai.usage.input_tokens"), attr(server, "gen_ai.usage.output_tokens"))
	}
	if intAttr(server, "gen_ai.request.max_tokens") != 50 || attr(server, "gen_ai.request.temperature").GetDoubleValue() != 0.5 {
		t.Errorf("request parameters missing: %v", server.Attributes)
	}
	if intAttr(server, "fulcrum.attempts") != 2 || intAttr(server, "http.response.status_code") != 200 {
		t.Errorf("attempts %d status %d", intAttr(server, "fulcrum.attempts"), intAttr(server, "http.response.status_code"))
	}
	if attr(server, "fulcrum.cost_usd").GetDoubleValue() <= 0 {
		t.Errorf("server span has no cost: %v", attr(server, "fulcrum.cost_usd"))
	}
	if attr(server, "gen_ai.input.messages") != nil || attr(server, "gen_ai.output.messages") != nil {
		t.Error("content exported without capture_content")
	}

	a1, a2 := attempts[1], attempts[2]
	for _, a := range []*tracepb.Span{a1, a2} {
		if string(a.ParentSpanId) != string(server.SpanId) {
			t.Errorf("attempt %q is not a child of the server span", a.Name)
		}
	}
	if a1.Name != "chat gpt-4o-down" || strAttr(a1, "fulcrum.provider") != "down" || strAttr(a1, "error.type") != "upstream_unreachable" ||
		a1.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("failed attempt: %s %v %v", a1.Name, a1.Attributes, a1.Status)
	}
	if a2.Name != "chat gpt-4o" || strAttr(a2, "gen_ai.request.model") != "gpt-4o" || strAttr(a2, "gen_ai.response.model") == "" ||
		intAttr(a2, "gen_ai.usage.output_tokens") != fake.OutputTokens {
		t.Errorf("served attempt: %s %v", a2.Name, a2.Attributes)
	}
	if fr := attr(a2, "gen_ai.response.finish_reasons").GetArrayValue().GetValues(); len(fr) != 1 || fr[0].GetStringValue() != "stop" {
		t.Errorf("finish reasons %v", fr)
	}
	// The upstream saw the served attempt's span as its parent.
	reqs := oa.Log.All()
	if len(reqs) != 1 {
		t.Fatalf("fake got %d requests", len(reqs))
	}
	want := "00-" + clientTraceID + "-" + hex.EncodeToString(a2.SpanId) + "-01"
	if got := reqs[0].Header.Get("Traceparent"); got != want {
		t.Errorf("upstream traceparent %q, want %q", got, want)
	}
}

// TestTracingContentRedacted: with capture_content on, the exported prompt
// is the one forwarded (redacted), never the client's sensitive value; a
// stream's span carries its finish reason and text.
func TestTracingContentRedacted(t *testing.T) {
	rcv := newOTLPReceiver(t)
	oa := fake.NewOpenAI()
	defer oa.Close()
	g := traceGateway(t, rcv, oa, `  capture_content: true
policy:
  policies:
    - { name: default, on_sensitive: redact }`)
	srv := httptest.NewServer(g.Handler)
	defer srv.Close()
	post(t, srv.URL+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"mail jane.doe@example.com please"}]}`, nil)
	post(t, srv.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"stream me"}]}`, nil)
	g.Close()
	var servers []*tracepb.Span
	for _, s := range rcv.all() {
		if s.Kind == tracepb.Span_SPAN_KIND_SERVER {
			servers = append(servers, s)
		}
	}
	if len(servers) != 2 {
		t.Fatalf("got %d server spans", len(servers))
	}
	for _, s := range servers {
		in, out := strAttr(s, "gen_ai.input.messages"), strAttr(s, "gen_ai.output.messages")
		if strings.Contains(in+out, "jane.doe@example.com") {
			t.Errorf("sensitive value exported: %s / %s", in, out)
		}
		if intAttr(s, "fulcrum.attempts") != 1 {
			t.Errorf("attempts = %d", intAttr(s, "fulcrum.attempts"))
		}
		switch {
		case strAttr(s, "fulcrum.policy.action") == "redact":
			if !strings.Contains(in, `"role":"user"`) || !strings.Contains(in, "mail ") || !strings.Contains(out, "Hello! You said: mail ") {
				t.Errorf("redacted content not exported: in %s out %s", in, out)
			}
		case attr(s, "fulcrum.stream").GetBoolValue():
			if !strings.Contains(in, "stream me") || !strings.Contains(out, `"finish_reason":"stop"`) || !strings.Contains(out, "Hello! You said: stream me") {
				t.Errorf("stream content: in %s out %s", in, out)
			}
		default:
			t.Errorf("unexpected span %v", s.Attributes)
		}
	}
}

// TestTracingWithheld: content capture never exports a prompt that policy
// found sensitive and sent on unredacted (self-hosted only).
func TestTracingWithheld(t *testing.T) {
	rcv := newOTLPReceiver(t)
	oa := fake.NewOpenAI()
	defer oa.Close()
	g := traceGateway(t, rcv, oa, `  capture_content: true
policy:
  policies:
    - { name: default, on_sensitive: allow }`)
	srv := httptest.NewServer(g.Handler)
	defer srv.Close()
	post(t, srv.URL+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"mail jane.doe@example.com please"}]}`, nil)
	g.Close()
	for _, s := range rcv.all() {
		if s.Kind != tracepb.Span_SPAN_KIND_SERVER {
			continue
		}
		if attr(s, "gen_ai.input.messages") != nil || attr(s, "gen_ai.output.messages") != nil || !attr(s, "fulcrum.content_withheld").GetBoolValue() {
			t.Errorf("content of a sensitive unredacted request exported: %v", s.Attributes)
		}
		if cl := attr(s, "fulcrum.data_classes").GetArrayValue().GetValues(); len(cl) != 1 || cl[0].GetStringValue() != "email" {
			t.Errorf("data classes %v", cl)
		}
	}
}

// TestTracingOff: without an endpoint nothing is traced and no traceparent
// reaches the upstream, even when the client sent one.
func TestTracingOff(t *testing.T) {
	oa := fake.NewOpenAI()
	defer oa.Close()
	c := parse(t, `
storage: { data_dir: `+t.TempDir()+` }
providers:
  - { name: oa, type: openai, base_url: "`+oa.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m, provider: oa, upstream: gpt-4o }
`)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	_, srv := serve(t, c)
	post(t, srv.URL+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"traceparent": "00-" + clientTraceID + "-" + clientSpanID + "-01"})
	reqs := oa.Log.All()
	if len(reqs) != 1 || reqs[0].Header.Get("Traceparent") != "" {
		t.Errorf("tracing off, yet the upstream got traceparent %q", reqs[0].Header.Get("Traceparent"))
	}
}
