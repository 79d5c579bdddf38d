package gateway

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the gateway's Prometheus series. Other packages (metering,
// routing) register their own collectors on Registry.
//
// Every label value comes from configuration, never from what a client
// sent: a model name the gateway does not serve is counted as "other", so
// the number of series is bounded by the config (models x providers x
// status codes), not by traffic.
type Metrics struct {
	Registry *prometheus.Registry

	// known holds the configured model and route names (map[string]bool,
	// read-only once stored); nil until the server sets it.
	known atomic.Pointer[map[string]bool]

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

// OtherModel is the model label of requests for a name the gateway does not
// serve.
const OtherModel = "other"

// SetModels names the models and routes the gateway serves: the only model
// label values requests are counted under.
func (m *Metrics) SetModels(names []string) {
	k := make(map[string]bool, len(names))
	for _, n := range names {
		k[n] = true
	}
	m.known.Store(&k)
}

// modelLabel is name if it is configured, else OtherModel.
func (m *Metrics) modelLabel(name string) string {
	if k := m.known.Load(); k != nil && (*k)[name] {
		return name
	}
	return OtherModel
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// protect puts h behind a bearer token: any of tokens (the master key and
// the scrape token). With no tokens configured the page is open, which
// only happens when the gateway listens on loopback without a master key.
func protect(h http.Handler, tokens ...string) http.Handler {
	var want [][]byte
	for _, t := range tokens {
		if t != "" {
			want = append(want, []byte(t))
		}
	}
	if len(want) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(credential(r))
		ok := 0
		for _, t := range want {
			ok |= subtle.ConstantTimeCompare(got, t)
		}
		if ok != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fulcrum metrics"`)
			http.Error(w, "metrics need a bearer token: the master key or server.metrics_token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (m *Metrics) observeRequest(rc *reqCtx, d time.Duration) {
	if rc.model == "" {
		return // not a model request (auth failure before decode, 404 path)
	}
	model := m.modelLabel(rc.model)
	m.requests.WithLabelValues(model, rc.provider, statusLabel(rc.status)).Inc()
	m.latency.WithLabelValues(model, rc.provider).Observe(d.Seconds())
}

func (m *Metrics) observeAttempt(a *Attempt) {
	p := a.Info.Name
	m.attempts.WithLabelValues(p, a.Target.Upstream, statusLabel(a.Status)).Inc()
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

// statusLabel is strconv.Itoa(status) without an allocation for the
// statuses nearly every request ends with.
func statusLabel(status int) string {
	switch status {
	case 200:
		return "200"
	case 400:
		return "400"
	case 429:
		return "429"
	case 499:
		return "499"
	case 502:
		return "502"
	case 503:
		return "503"
	}
	return strconv.Itoa(status)
}
