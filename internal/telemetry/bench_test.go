//go:build unix

package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// BenchmarkRequestSpans is the tracing work of one gateway request in
// isolation: a server span and one attempt span with the attributes the
// gateway sets, exported over OTLP/HTTP to an in-process collector (the
// batch flushed inside the measurement). Compare with the request's own
// cost in internal/app BenchmarkTracing (docs/benchmarks.md).
func BenchmarkRequestSpans(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	tr, err := New(context.Background(), config.Telemetry{OTLP: config.OTLP{Endpoint: collector.URL}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	h := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	maxTokens, temp := 100, 0.5
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		ctx, sp := tr.StartRequest(context.Background(), h, "POST", "/v1/chat/completions")
		sp.Request("chat", "gpt-4o", false, &Params{MaxTokens: &maxTokens, Temperature: &temp})
		_, at := tr.StartAttempt(ctx, &Attempt{Op: "chat", ProviderType: "openai", ProviderName: "oa", Hosting: "proprietary", Model: "gpt-4o", N: 1, PassThrough: true})
		at.Response("chatcmpl-123", "gpt-4o-2024-08-06", []string{"stop"})
		at.Usage(12, 7, 0, false, 100000, 0)
		at.End(200, "")
		sp.Policy("", "none")
		sp.Route("gpt-4o", "model")
		sp.Served("openai", "oa", "proprietary", 1)
		sp.Usage(12, 7, 0, false, 100000, 0)
		sp.End(200, "")
	}
	tr.ForceFlush(context.Background())
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU (user + system) this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
