package gateway

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fulcrumhq/fulcrum/internal/router"
)

// targetHealth is one row of GET /admin/health.
type targetHealth struct {
	Model        string     `json:"model"`
	Upstream     string     `json:"upstream"`
	Provider     string     `json:"provider"`
	Hosting      string     `json:"hosting"`
	State        string     `json:"state"`
	OpenUntil    *time.Time `json:"open_until,omitempty"`
	InFlight     int64      `json:"in_flight"`
	EWMALatencyM float64    `json:"ewma_latency_ms"`
	Requests     int64      `json:"requests"`
	Failures     int64      `json:"failures"`
	Consecutive  int        `json:"consecutive_failures"`
	Opened       int64      `json:"breaker_openings"`
	LastError    string     `json:"last_error,omitempty"`
}

// handleHealth serves GET /admin/health: breaker state and health per
// target. It sits behind the master key.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	hs := s.opts.Router.Health()
	out := make([]targetHealth, len(hs))
	for i, h := range hs {
		out[i] = targetHealth{
			Model: h.Model, Upstream: h.Upstream, Provider: h.Provider, Hosting: h.Hosting, State: h.State,
			InFlight: h.InFlight, EWMALatencyM: float64(h.EWMALatency.Microseconds()) / 1000,
			Requests: h.Requests, Failures: h.Failures, Consecutive: h.Consecutive, Opened: h.Opened, LastError: h.LastError,
		}
		if !h.OpenUntil.IsZero() {
			t := h.OpenUntil
			out[i].OpenUntil = &t
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"targets": out})
}

// healthCollector exports router health as Prometheus gauges.
type healthCollector struct {
	r                                  *router.Router
	state, inflight, latency, failures *prometheus.Desc
}

func newHealthCollector(r *router.Router) *healthCollector {
	labels := []string{"model", "provider", "hosting"}
	return &healthCollector{
		r:        r,
		state:    prometheus.NewDesc("fulcrum_target_breaker_state", "Circuit breaker state per target: 0 closed, 1 half-open, 2 open.", labels, nil),
		inflight: prometheus.NewDesc("fulcrum_target_in_flight", "Attempts in flight per target.", labels, nil),
		latency:  prometheus.NewDesc("fulcrum_target_latency_ewma_seconds", "Moving average of attempt latency per target.", labels, nil),
		failures: prometheus.NewDesc("fulcrum_target_failures_total", "Failed attempts per target.", labels, nil),
	}
}

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.state
	ch <- c.inflight
	ch <- c.latency
	ch <- c.failures
}

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, h := range c.r.Health() {
		var st float64
		switch h.State {
		case "half_open":
			st = 1
		case "open":
			st = 2
		}
		ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, st, h.Model, h.Provider, h.Hosting)
		ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(h.InFlight), h.Model, h.Provider, h.Hosting)
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, h.EWMALatency.Seconds(), h.Model, h.Provider, h.Hosting)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(h.Failures), h.Model, h.Provider, h.Hosting)
	}
}
