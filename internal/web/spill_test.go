package web

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// TestSpillRows: the routing page's spillover table reads the gateway's
// spillover and capacity counters by provider (names as app/hybrid.go
// exports them), and an empty gatherer means the empty state.
func TestSpillRows(t *testing.T) {
	reg := prometheus.NewRegistry()
	vec := func(name string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: name}, labels)
		reg.MustRegister(v)
		return v
	}
	vec("fulcrum_spillover_total", "provider").WithLabelValues("gpu").Add(4)
	vec("fulcrum_spillover_cost_usd_total", "provider").WithLabelValues("gpu").Add(0.0125)
	vec("fulcrum_spillover_tokens_total", "provider").WithLabelValues("gpu").Add(76)
	vec("fulcrum_capacity_queued_total", "provider").WithLabelValues("gpu").Add(5)
	rej := vec("fulcrum_capacity_rejected_total", "provider", "reason")
	rej.WithLabelValues("gpu", "timeout").Add(3)
	rej.WithLabelValues("gpu", "queue_full").Add(1)
	// Another metric with a provider label is not spillover.
	vec("fulcrum_requests_total", "provider").WithLabelValues("api").Add(9)

	got := spillRows(reg)
	want := []spillRow{{Provider: "gpu", Spilled: 4, CostUSD: 0.0125, Tokens: 76, Queued: 5, Timeouts: 3, QueueFull: 1}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("spillRows (-want +got):\n%s", d)
	}

	h := New(Options{Logger: slog.New(slog.DiscardHandler)})
	for _, tt := range []struct {
		data routingData
		want []string
	}{
		{routingData{Spill: got}, []string{`id="spillover"`, "<td>gpu</td><td>4</td><td>$0.0125</td><td>76</td><td>5</td><td>3</td><td>1</td>"}},
		{routingData{Spill: spillRows(prometheus.NewRegistry())}, []string{`id="spillover-empty"`}},
	} {
		var b bytes.Buffer
		if err := h.tmpl.ExecuteTemplate(&b, "routing", page{Title: "Routing", Data: tt.data}); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("routing page lacks %q", w)
			}
		}
	}
}
