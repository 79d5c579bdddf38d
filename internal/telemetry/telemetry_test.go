package telemetry

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestEnabled: tracing is on only with an endpoint (config or the
// standard variables), and the standard off switches win.
func TestEnabled(t *testing.T) {
	withEndpoint := config.Telemetry{OTLP: config.OTLP{Endpoint: "http://c:4318"}}
	tests := []struct {
		name string
		cfg  config.Telemetry
		env  map[string]string
		want bool
	}{
		{"nothing", config.Telemetry{}, nil, false},
		{"config endpoint", withEndpoint, nil, true},
		{"env endpoint", config.Telemetry{}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true},
		{"env traces endpoint", config.Telemetry{}, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true},
		{"sdk disabled", withEndpoint, map[string]string{"OTEL_SDK_DISABLED": "true"}, false},
		{"exporter none", withEndpoint, map[string]string{"OTEL_TRACES_EXPORTER": "none"}, false},
	}
	for _, tt := range tests {
		if got := Enabled(tt.cfg, env(tt.env)); got != tt.want {
			t.Errorf("%s: Enabled = %v, want %v", tt.name, got, tt.want)
		}
	}
	tr, err := New(context.Background(), config.Telemetry{}, Options{Lookup: env(nil)})
	if err != nil || tr != nil {
		t.Errorf("New with tracing off = %v, %v; want nil, nil", tr, err)
	}
	// A nil tracer and its nil spans are safe to use and record nothing.
	ctx, sp := tr.StartRequest(context.Background(), nil, "POST", "/v1/chat/completions")
	_, at := tr.StartAttempt(ctx, &Attempt{Op: "chat"})
	sp.Request("chat", "m", false, nil)
	at.Usage(1, 2, 0, false, 3, 0)
	at.End(200, "")
	sp.End(500, "x")
	if sp.Recording() || at.Recording() || tr.CaptureContent() {
		t.Error("nil spans record")
	}
}

func TestTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://c:4318":            "http://c:4318/v1/traces",
		"http://c:4318/":           "http://c:4318/v1/traces",
		"https://h/otlp":           "https://h/otlp/v1/traces",
		"https://h/otlp/v1/traces": "https://h/otlp/v1/traces",
	} {
		if got, err := tracesURL(in); err != nil || got != want {
			t.Errorf("tracesURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestProviderNameFor(t *testing.T) {
	tests := []struct{ typ, name, hosting, want string }{
		{"openai", "oa", "proprietary", "openai"},
		{"openai", "gpu-box", "self_hosted", "gpu-box"},
		{"anthropic", "an", "proprietary", "anthropic"},
		{"gemini", "g", "proprietary", "gcp.gemini"},
		{"bedrock", "b", "proprietary", "aws.bedrock"},
		{"ollama", "local", "self_hosted", "local"},
	}
	for _, tt := range tests {
		if got := ProviderNameFor(tt.typ, tt.name, tt.hosting); got != tt.want {
			t.Errorf("ProviderNameFor(%s, %s, %s) = %q, want %q", tt.typ, tt.name, tt.hosting, got, tt.want)
		}
	}
}

func TestParseTraceparent(t *testing.T) {
	const id, span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tests := []struct {
		in          string
		ok, sampled bool
	}{
		{"00-" + id + "-" + span + "-01", true, true},
		{"00-" + id + "-" + span + "-00", true, false},
		{"00-" + id + "-" + span + "-03", true, true},
		{"01-" + id + "-" + span + "-01-future", true, true}, // a later version may append fields
		{"01-" + id + "-" + span + "-01", true, true},
		{"00-" + id + "-" + span + "-01-x", false, false}, // version 00 is exactly 55 bytes
		{"01-" + id + "-" + span + "-01x", false, false},
		{"ff-" + id + "-" + span + "-01", false, false},
		{"00-" + "4BF92F3577B34DA6A3CE929D0E0E4736" + "-" + span + "-01", false, false},
		{"00-00000000000000000000000000000000-" + span + "-01", false, false},
		{"00-" + id + "-0000000000000000-01", false, false},
		{"00-" + id + "-" + span + "-0g", false, false},
		{"00-" + id + "-" + span, false, false},
		{"00_" + id + "-" + span + "-01", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		sc, ok := parseTraceparent(tt.in)
		if ok != tt.ok || sc.sampled != tt.sampled {
			t.Errorf("parseTraceparent(%q) = sampled %v, %v; want %v, %v", tt.in, sc.sampled, ok, tt.sampled, tt.ok)
		}
		if ok && (hex.EncodeToString(sc.traceID[:]) != id || hex.EncodeToString(sc.spanID[:]) != span) {
			t.Errorf("parseTraceparent(%q) ids %x %x", tt.in, sc.traceID, sc.spanID)
		}
	}
}

// FuzzTraceparent: what parses formats back to a header that parses to
// the same ids (flags reduced to the sampled bit, the version to 00).
func FuzzTraceparent(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	f.Add("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-future-holds")
	f.Fuzz(func(t *testing.T, in string) {
		sc, ok := parseTraceparent(in)
		if !ok {
			return
		}
		out := sc.traceparent()
		again, ok := parseTraceparent(out)
		if !ok || again != sc || len(out) != 55 {
			t.Fatalf("%q parsed, formatted as %q which parses to %v, %v", in, out, again, ok)
		}
	})
}

// TestSampling: parent-based sampling follows the client's flag (and the
// upstream's traceparent says so); new traces are kept at the ratio.
func TestSampling(t *testing.T) {
	tr := &Tracer{sampler: samplerFor(0.25, envFunc(env(nil)))}
	kept := 0
	for range 4000 {
		_, sp := tr.StartRequest(context.Background(), nil, "POST", "/v1/chat/completions")
		if sp.Recording() {
			kept++
		}
	}
	if kept < 800 || kept > 1200 {
		t.Errorf("ratio 0.25 kept %d of 4000", kept)
	}
	for _, flags := range []string{"00", "01"} {
		h := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-" + flags}}
		ctx, sp := tr.StartRequest(context.Background(), h, "POST", "/v1/chat/completions")
		ctx, at := tr.StartAttempt(ctx, &Attempt{Op: "chat", Model: "m"})
		if sp.Recording() != (flags == "01") || at.Recording() != (flags == "01") {
			t.Errorf("parent flags %s: server recording %v, attempt %v", flags, sp.Recording(), at.Recording())
		}
		uh := http.Header{}
		Inject(ctx, uh)
		if got := uh.Get("Traceparent"); !strings.HasPrefix(got, "00-4bf92f3577b34da6a3ce929d0e0e4736-") || !strings.HasSuffix(got, "-"+flags) ||
			strings.Contains(got, "00f067aa0ba902b7") {
			t.Errorf("parent flags %s: upstream traceparent %q", flags, got)
		}
	}
	for _, tt := range []struct {
		sampler, arg     string
		parentOn, rootOn bool
	}{
		{"", "", true, true},
		{"always_off", "", false, false},
		{"always_on", "", true, true},
		{"parentbased_always_off", "", true, false},
		{"traceidratio", "0", false, false},
		{"parentbased_traceidratio", "0", true, false},
		{"parentbased_traceidratio", "1", true, true},
		{"jaeger_remote", "", true, true},
	} {
		s := samplerFor(0, envFunc(env(map[string]string{"OTEL_TRACES_SAMPLER": tt.sampler, "OTEL_TRACES_SAMPLER_ARG": tt.arg})))
		id := newTraceID()
		if got := s.sample(&spanContext{sampled: true}, &id); got != tt.parentOn {
			t.Errorf("%s(%s) with a sampled parent: %v", tt.sampler, tt.arg, got)
		}
		if got := s.sample(nil, &id); got != tt.rootOn {
			t.Errorf("%s(%s) for a new trace: %v", tt.sampler, tt.arg, got)
		}
	}
}

// TestAllocs: off, tracing allocates nothing; on, a request's two spans
// cost two allocations (each span's identifying part, which is also the
// context carrying it; what a span records comes from a pool). Not
// sampled, the same two (the ids each context carries).
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	var off *Tracer
	h := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	maxTokens := 10
	request := func(tr *Tracer) {
		ctx, sp := tr.StartRequest(context.Background(), h, "POST", "/v1/chat/completions")
		sp.Request("chat", "m", false, &Params{MaxTokens: &maxTokens})
		_, at := tr.StartAttempt(ctx, &Attempt{Op: "chat", ProviderType: "openai", ProviderName: "oa", Model: "gpt", N: 1})
		finish := [...]string{"stop"}
		at.Response("id", "gpt", finish[:])
		at.Usage(1, 2, 0, false, 3, 0)
		at.End(200, "")
		sp.Served("openai", "oa", "proprietary", 1)
		sp.End(200, "")
	}
	if n := testing.AllocsPerRun(100, func() { request(off) }); n != 0 {
		t.Errorf("tracing off: %v allocations per request, want 0", n)
	}
	on := &Tracer{exp: &exporter{}, sampler: ratioSampler(true, 1)}
	request(on) // warm the pools
	if n := testing.AllocsPerRun(100, func() { request(on); on.exp.buf, on.exp.n = on.exp.buf[:0], 0 }); n > 2 {
		t.Errorf("tracing on: %v allocations per request, want 2", n)
	}
	// Not sampled: the ids of each span and the context carrying them.
	h["Traceparent"] = []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}
	if n := testing.AllocsPerRun(100, func() { request(on) }); n > 2 || on.exp.n != 0 {
		t.Errorf("not sampled: %v allocations per request (want 2), %d spans queued", n, on.exp.n)
	}
}

// TestSpanAfterEnd: what a span records goes back to a pool at End, but
// the span and its context stay valid: the context still names the
// span's ids and answers for its parent, and a late call on the ended
// span records nothing, here or on the span that now uses its storage.
func TestSpanAfterEnd(t *testing.T) {
	tr := &Tracer{exp: &exporter{}, sampler: ratioSampler(true, 1)}
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	ctx, sp := tr.StartRequest(parent, http.Header{}, "POST", "/v1/chat/completions")
	want := make(http.Header)
	Inject(ctx, want)
	sp.End(200, "")
	if sp.Recording() {
		t.Fatal("an ended span records")
	}
	_, next := tr.StartRequest(context.Background(), http.Header{}, "POST", "/v1/embeddings")
	sp.Request("chat", "late", false, nil) // on the ended span: nothing
	sp.End(500, "late")
	next.End(200, "")
	got := make(http.Header)
	Inject(ctx, got)
	if got.Get("Traceparent") != want.Get("Traceparent") || got.Get("Traceparent") == "" {
		t.Errorf("after End the context names %q, want %q", got.Get("Traceparent"), want.Get("Traceparent"))
	}
	if ctx.Value(key{}) != "v" || ctx.Err() != nil {
		t.Error("the span's context does not answer for its parent")
	}
	cancel()
	if ctx.Err() != context.Canceled {
		t.Errorf("the span's context after its parent's cancel: %v", ctx.Err())
	}
	if n := tr.exp.n; n != 2 {
		t.Fatalf("%d spans queued, want 2", n)
	}
	if enc := string(tr.exp.buf); strings.Contains(enc, "late") || !strings.Contains(enc, "/v1/embeddings") {
		t.Errorf("the late calls reached an export, or the second span is missing: %q", enc)
	}
}

func TestEndpointFromEnv(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "http://c:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://t/x"}, "https://t/x"},
	} {
		tr, err := New(context.Background(), config.Telemetry{}, Options{Lookup: env(tt.env)})
		if err != nil {
			t.Fatal(err)
		}
		if tr.exp.url != tt.want {
			t.Errorf("%v: url %q, want %q", tt.env, tr.exp.url, tt.want)
		}
		tr.Shutdown(context.Background())
	}
	if _, err := New(context.Background(), config.Telemetry{}, Options{Lookup: env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4318"})}); err == nil {
		t.Error("an endpoint that is not a URL was accepted")
	}
}
