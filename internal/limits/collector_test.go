package limits

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

func TestCollector(t *testing.T) {
	c := newClock(t0)
	g := NewGate(GateOptions{Limiter: NewMemory(MemoryOptions{Now: c.Now}),
		Teams: []Budget{{Scope: "team:ml", Period: store.Monthly, Hosting: HostingAll, LimitNanos: 100 * usd}}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(g))
	k := &store.Key{ID: "k1", Team: "ml", BudgetNanos: 10 * usd, Period: store.Daily}
	a, le := g.Admit(context.Background(), k, 0, Amount{ProprietaryNanos: 2 * usd})
	if le != nil {
		t.Fatal(le)
	}
	a.Done(Amount{ProprietaryNanos: 1_500_000_000, SelfHostedNanos: usd}, -1)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var lv []string
			for _, l := range m.GetLabel() {
				lv = append(lv, l.GetValue())
			}
			got[mf.GetName()+"{"+strings.Join(lv, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"fulcrum_budget_remaining_usd{all,monthly,team:ml}":      97.5,
		"fulcrum_budget_limit_usd{all,monthly,team:ml}":          100,
		"fulcrum_budget_spent_usd{all,monthly,team:ml}":          2.5,
		"fulcrum_budget_reserved_usd{all,monthly,team:ml}":       0,
		"fulcrum_budget_remaining_usd{proprietary,daily,key:k1}": 8.5,
		"fulcrum_budget_limit_usd{proprietary,daily,key:k1}":     10,
		"fulcrum_budget_spent_usd{proprietary,daily,key:k1}":     1.5,
		"fulcrum_budget_reserved_usd{proprietary,daily,key:k1}":  0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("gauges (-want +got):\n%s", diff)
	}
}
