package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// BenchmarkTracing measures a request through the whole gateway (policy
// scan, routing, metering, the SQLite recorder) with tracing off and on.
// On, every request is sampled and its spans go to an in-process OTLP/HTTP
// collector (export, protobuf encoding and the collector's reading of the
// body all count). cpu-ns/op is the process's CPU time (user + system:
// client, gateway, fake upstream and collector, all in this process) per
// request; docs/benchmarks.md has the numbers.
func BenchmarkTracing(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"pass-through", `{"model":"m","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarise the quarterly report in three bullet points, please."}]}`},
		{"stream", `{"model":"m","stream":true,"messages":[{"role":"user","content":"Summarise the quarterly report in three bullet points, please."}]}`},
	} {
		for _, mode := range []struct {
			name  string
			ratio string // "" = tracing off
		}{{"off", ""}, {"on", "1"}, {"on-sampled-0.1", "0.1"}} {
			b.Run(bc.name+"/"+mode.name, func(b *testing.B) { benchTracing(b, bc.body, mode.ratio) })
		}
	}
}

func benchTracing(b *testing.B, body string, ratio string) {
	on := ratio != ""
	oa := fake.NewOpenAI()
	defer oa.Close()
	oa.Record(false)
	var exported atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		exported.Add(n)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	tel := ""
	if on {
		tel = "telemetry: { sample_ratio: " + ratio + ", otlp: { endpoint: \"" + collector.URL + "\" } }"
	}
	c := parse(b, `
storage: { data_dir: `+b.TempDir()+` }
`+tel+`
providers:
  - { name: oa, type: openai, base_url: "`+oa.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m, provider: oa, upstream: gpt-4o }
`)
	g, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g.Handler)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	// Export what is buffered inside the measurement: its CPU is the
	// tracing's cost too.
	g.tracer.ForceFlush(context.Background())
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if ratio == "1" && exported.Load() == 0 {
		b.Error("tracing on, but nothing reached the collector")
	}
}

// BenchmarkTracingOverhead sends the same request alternately, in batches
// of 50, through two gateways, one tracing off and one on (every request
// sampled, spans exported to an in-process collector and flushed inside
// the "on" batch that ended them), so load drift on a shared machine
// falls on both sides alike (and who goes first alternates). It reports each side's process CPU per
// request and the difference as a share of "off".
func BenchmarkTracingOverhead(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"pass-through", `{"model":"m","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarise the quarterly report in three bullet points, please."}]}`},
		{"stream", `{"model":"m","stream":true,"messages":[{"role":"user","content":"Summarise the quarterly report in three bullet points, please."}]}`},
	} {
		b.Run(bc.name, func(b *testing.B) { benchTracingOverhead(b, bc.body) })
	}
}

func benchTracingOverhead(b *testing.B, body string) {
	type side struct {
		g   *Gateway
		url string
		c   *http.Client
		cpu time.Duration
		n   int
	}
	oa := fake.NewOpenAI()
	defer oa.Close()
	oa.Record(false)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	mk := func(tel string) *side {
		c := parse(b, `
storage: { data_dir: `+b.TempDir()+` }
`+tel+`
providers:
  - { name: oa, type: openai, base_url: "`+oa.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m, provider: oa, upstream: gpt-4o }
`)
		g, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(g.Handler)
		b.Cleanup(func() { srv.Close(); g.Close() })
		return &side{g: g, url: srv.URL, c: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	}
	off := mk("")
	on := mk("telemetry: { otlp: { endpoint: \"" + collector.URL + "\" } }")
	if off.g.tracer != nil || on.g.tracer == nil {
		b.Fatal("want one gateway tracing and one not")
	}
	send := func(s *side) {
		resp, err := s.c.Post(s.url+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	send(off)
	send(on)
	const batch = 250
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		order := []*side{off, on}
		if done/batch%2 == 1 { // alternate who goes first
			order[0], order[1] = on, off
		}
		for _, s := range order {
			c0 := cpuTime()
			for range min(batch, b.N-done) {
				send(s)
			}
			s.g.tracer.ForceFlush(context.Background()) // nil (off): nothing
			s.cpu += cpuTime() - c0
			s.n += min(batch, b.N-done)
		}
	}
	b.StopTimer()
	offNs, onNs := float64(off.cpu)/float64(off.n), float64(on.cpu)/float64(on.n)
	b.ReportMetric(offNs, "off-cpu-ns/op")
	b.ReportMetric(onNs, "on-cpu-ns/op")
	b.ReportMetric(100*(onNs-offNs)/offNs, "overhead-%")
}
