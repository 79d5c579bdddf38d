package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the gateway's Prometheus series. Other packages (metering,
// routing) register their own collectors on Registry.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	attempts *prometheus.CounterVec
	ttft     *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
	cost     *prometheus.CounterVec
	inflight prometheus.Gauge
}

// NewMetrics registers the gateway's series on a new registry, with the Go
// and process collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	m := &Metrics{
		Registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulcrum_requests_total", Help: "Client requests by requested model, serving provider and HTTP status.",
		}, []string{"model", "provider", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fulcrum_request_duration_seconds", Help: "Client request duration (whole stream for streams).", Buckets: buckets,
		}, []string{"model", "provider"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulcrum_upstream_attempts_total", Help: "Upstream attempts by provider, upstream model and status.",
		}, []string{"provider", "upstream_model", "status"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fulcrum_time_to_first_token_seconds", Help: "Time from the upstream call to its first streamed event.", Buckets: buckets,
		}, []string{"provider", "upstream_model"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulcrum_tokens_total", Help: "Tokens by provider, upstream model and type (input, output, cache_read, reasoning).",
		}, []string{"provider", "upstream_model", "type"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fulcrum_cost_usd_total", Help: "Cost of upstream attempts in USD (catalogue prices; GPU-hour model for self-hosted).",
		}, []string{"provider", "upstream_model", "hosting"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fulcrum_requests_in_flight", Help: "Requests being served."}),
	}
	r.MustRegister(m.requests, m.latency, m.attempts, m.ttft, m.tokens, m.cost, m.inflight)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

func (m *Metrics) observeRequest(rc *reqCtx, d time.Duration) {
	if rc.model == "" {
		return // not a model request (auth failure before decode, 404 path)
	}
	m.requests.WithLabelValues(rc.model, rc.provider, strconv.Itoa(rc.status)).Inc()
	m.latency.WithLabelValues(rc.model, rc.provider).Observe(d.Seconds())
}

func (m *Metrics) observeAttempt(a *Attempt) {
	p := a.Info.Name
	m.attempts.WithLabelValues(p, a.Target.Upstream, strconv.Itoa(a.Status)).Inc()
	if a.TTFT > 0 {
		m.ttft.WithLabelValues(p, a.Target.Upstream).Observe(a.TTFT.Seconds())
	}
	if a.CostNanos > 0 {
		m.cost.WithLabelValues(p, a.Target.Upstream, string(a.Info.Hosting)).Add(float64(a.CostNanos) / 1e9)
	}
	if u := a.Usage; u != nil {
		m.tokens.WithLabelValues(p, a.Target.Upstream, "input").Add(float64(u.InputTokens))
		m.tokens.WithLabelValues(p, a.Target.Upstream, "output").Add(float64(u.OutputTokens))
		if u.CacheReadTokens > 0 {
			m.tokens.WithLabelValues(p, a.Target.Upstream, "cache_read").Add(float64(u.CacheReadTokens))
		}
		if u.ReasoningTokens > 0 {
			m.tokens.WithLabelValues(p, a.Target.Upstream, "reasoning").Add(float64(u.ReasoningTokens))
		}
	}
}
