package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fulcrumhq/fulcrum/bench/internal/mockup"
	"github.com/fulcrumhq/fulcrum/bench/internal/refproxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSmoke runs the whole harness in-process: the mock upstream and the
// reference proxy on 127.0.0.1:0, and the load generator against each,
// closed- and open-loop, streaming and not. It asserts counts and the
// absence of errors, never timings.
func TestSmoke(t *testing.T) {
	mock := httptest.NewServer(mockup.New(mockup.Options{}))
	defer mock.Close()
	mu, _ := url.Parse(mock.URL)
	rp := refproxy.New(mu)
	proxy := httptest.NewServer(rp)
	defer proxy.Close()
	defer rp.CloseIdleConnections()

	targets := []struct{ name, base string }{{"direct", mock.URL}, {"refproxy", proxy.URL}}
	loads := []struct {
		name  string
		conns int
		rate  float64
	}{{"closed", 4, 0}, {"open", 0, 200}}
	for _, target := range targets {
		for _, load := range loads {
			for _, stream := range []bool{false, true} {
				name := target.name + "/" + load.name
				if stream {
					name += "/stream"
				}
				t.Run(name, func(t *testing.T) {
					cfg := Config{
						URL:      target.base + "/v1/chat/completions",
						Body:     Body("bench-model", stream),
						Stream:   stream,
						Conns:    load.conns,
						Rate:     load.rate,
						Duration: 500 * time.Millisecond,
						Warmup:   100 * time.Millisecond,
					}
					r, err := Run(context.Background(), cfg)
					if err != nil {
						t.Fatal(err)
					}
					if r.Errors.Total() != 0 {
						t.Errorf("errors: %+v", r.Errors)
					}
					if r.OK == 0 || r.OK != r.Requests || uint64(r.OK) != r.Latency.Count() {
						t.Errorf("ok %d, requests %d, latencies %d", r.OK, r.Requests, r.Latency.Count())
					}
					if load.rate > 0 && r.Requests != 100 {
						t.Errorf("open loop at 200/s for 0.5s sent %d requests, want 100", r.Requests)
					}
					if stream {
						// 20 chunks and the usage chunk, before [DONE].
						if want := int64(mockup.Chunks+1) * r.OK; r.Events != want {
							t.Errorf("events %d, want %d", r.Events, want)
						}
						if r.TTFT.Count() != r.Latency.Count() {
							t.Errorf("ttft count %d, latency count %d", r.TTFT.Count(), r.Latency.Count())
						}
						for _, q := range []float64{0.5, 0.99, 1} {
							if r.TTFT.Quantile(q) > r.Latency.Quantile(q) {
								t.Errorf("q%v: ttft %d after full stream %d", q, r.TTFT.Quantile(q), r.Latency.Quantile(q))
							}
						}
					}
					rec := NewRecord(cfg, r, time.Now())
					rec.WriteTable(io.Discard)
					if line := rec.Line(); strings.Contains(line, "ERRORS") || strings.Contains(line, "\n") {
						t.Errorf("summary line %q", line)
					}
					if rec.Requests != r.Requests || rec.Latency.P50 <= 0 || (stream != (rec.TTFT != nil)) {
						t.Errorf("record %+v", rec)
					}
				})
			}
		}
	}
}

// TestErrorsCounted checks that each kind of failure lands in its counter.
func TestErrorsCounted(t *testing.T) {
	status := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"message":"slow down"}}`)
	}))
	defer status.Close()
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n")
	}))
	defer cut.Close()
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	// The grace is the time requests still running at the end may take
	// before they count as incomplete: short only where that is the point,
	// so that a loaded machine (the race detector, CI) does not turn a fast
	// server's last answers into "incomplete".
	tests := []struct {
		name   string
		url    string
		stream bool
		grace  time.Duration
		check  func(Errors) bool
	}{
		{"non-2xx", status.URL, false, 5 * time.Second, func(e Errors) bool { return e.Status > 0 && e.Status == e.Total() }},
		{"stream without DONE", cut.URL, true, 5 * time.Second, func(e Errors) bool { return e.Cut > 0 && e.Cut == e.Total() }},
		{"connection refused", downURL, false, 5 * time.Second, func(e Errors) bool { return e.Transport > 0 && e.Transport == e.Total() }},
		{"no answer within grace", slow.URL, false, 100 * time.Millisecond, func(e Errors) bool { return e.Incomplete > 0 && e.Incomplete == e.Total() }},
	}
	for _, tt := range tests {
		for _, rate := range []float64{0, 100} {
			t.Run(tt.name, func(t *testing.T) {
				r, err := Run(context.Background(), Config{
					URL: tt.url, Body: Body("m", tt.stream), Stream: tt.stream,
					Conns: 2, Rate: rate, Duration: 100 * time.Millisecond, Grace: tt.grace,
				})
				if err != nil {
					t.Fatal(err)
				}
				if !tt.check(r.Errors) || r.OK != 0 || r.Errors.Total() != r.Requests {
					t.Errorf("rate %v: requests %d, ok %d, errors %+v", rate, r.Requests, r.OK, r.Errors)
				}
			})
		}
	}
}

func TestHasContent(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{`data: {"choices":[{"delta":{"role":"assistant","content":""}}]}`, false},
		{`data: {"choices":[{"delta":{"content":"Hello"}}]}`, true},
		{`data: {"choices":[{"delta":{}}]}`, false},
		{`data: {"choices":[],"usage":{"total_tokens":3}}`, false},
		{`data: {"content":"`, false},
	}
	for _, tt := range tests {
		if got := hasContent([]byte(tt.line)); got != tt.want {
			t.Errorf("hasContent(%s) = %v", tt.line, got)
		}
	}
}
