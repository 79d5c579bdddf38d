package limits

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the gate's budgets as gauges, read from the limiter at
// scrape time: every team budget from config and every key budget this
// process has admitted a request against.
type Collector struct {
	g                       *Gate
	remaining, limit, spent *prometheus.Desc
	reserved                *prometheus.Desc
	timeout                 time.Duration
}

// NewCollector returns a collector for g; register it on the gateway's
// registry.
func NewCollector(g *Gate) *Collector {
	labels := []string{"scope", "period", "hosting"}
	return &Collector{
		g:         g,
		remaining: prometheus.NewDesc("fulcrum_budget_remaining_usd", "Budget left in the current period: limit - spent - reserved.", labels, nil),
		limit:     prometheus.NewDesc("fulcrum_budget_limit_usd", "Budget per period.", labels, nil),
		spent:     prometheus.NewDesc("fulcrum_budget_spent_usd", "Spend counted against the budget in the current period.", labels, nil),
		reserved:  prometheus.NewDesc("fulcrum_budget_reserved_usd", "Worst-case cost of requests in flight, held against the budget.", labels, nil),
		timeout:   2 * time.Second,
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.remaining
	ch <- c.limit
	ch <- c.spent
	ch <- c.reserved
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	budgets := c.g.seenBudgets()
	if len(budgets) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	states, err := c.g.l.Budgets(ctx, budgets)
	if err != nil {
		c.g.log.Warn("limits: collect budgets", "err", err)
		return
	}
	for _, s := range states {
		lv := []string{s.Budget.Scope, string(s.Budget.Period), s.Budget.hosting()}
		ch <- prometheus.MustNewConstMetric(c.remaining, prometheus.GaugeValue, toUSD(s.RemainingNanos), lv...)
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, toUSD(s.Budget.LimitNanos), lv...)
		ch <- prometheus.MustNewConstMetric(c.spent, prometheus.GaugeValue, toUSD(s.SpentNanos), lv...)
		ch <- prometheus.MustNewConstMetric(c.reserved, prometheus.GaugeValue, toUSD(s.ReservedNanos), lv...)
	}
}

// usd converts for display only.
func toUSD(n int64) float64 { return float64(n) / 1e9 }
