package shadow

import "github.com/prometheus/client_golang/prometheus"

// metrics are the engine's Prometheus counters.
type metrics struct {
	sampled  *prometheus.CounterVec
	dropped  prometheus.Counter
	skipped  *prometheus.CounterVec
	compared *prometheus.CounterVec
	judged   *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		sampled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fulcrum_shadow_sampled_total",
			Help: "Requests sampled for shadow evaluation, by requested model or route."}, []string{"model"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "fulcrum_shadow_dropped_total",
			Help: "Sampled requests dropped because the shadow queue was full (or the gateway stopped)."}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fulcrum_shadow_skipped_total",
			Help: "Shadow calls not made, by candidate and reason (policy: the verdict permits none of its providers; budget: the request's budget cannot cover it; judge_policy; unknown)."},
			[]string{"candidate", "reason"}),
		compared: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fulcrum_shadow_comparisons_total",
			Help: "Shadow comparisons, by candidate and verdict (agree, disagree, error)."}, []string{"candidate", "verdict"}),
		judged: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fulcrum_shadow_judged_total",
			Help: "Judge preferences, by candidate and winner (candidate, live, tie)."}, []string{"candidate", "winner"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fulcrum_shadow_errors_total",
			Help: "Shadow calls that failed, by candidate."}, []string{"candidate"}),
	}
}

func (m *metrics) all() []prometheus.Collector {
	return []prometheus.Collector{m.sampled, m.dropped, m.skipped, m.compared, m.judged, m.errors}
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.all() {
		c.Describe(ch)
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.all() {
		c.Collect(ch)
	}
}

// Dropped returns how many samples were dropped (queue full, or queued
// when the engine stopped).
func (e *Engine) Dropped() int64 { return e.droppedN.Load() }
