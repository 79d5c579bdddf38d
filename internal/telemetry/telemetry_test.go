package telemetry

import (
	"context"
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
