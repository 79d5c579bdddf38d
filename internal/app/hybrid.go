package app

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fulcrumhq/fulcrum/internal/cache"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/router"
)

// wireHybrid adds the response cache and the spillover metrics to o: the
// parts of running self-hosted and proprietary models side by side that
// sit on the request path.
func (g *Gateway) wireHybrid(o *gateway.Options) {
	cfg := g.Config
	// The response cache lives in memory, so its retention is a bound on
	// how long an entry may live: metering.retention.cache caps every
	// model's and route's ttl (entries go at the earlier of the two).
	ttl := func(d time.Duration) time.Duration {
		if keep := cfg.Metering.Retention.Cache.D(); keep > 0 && d > keep {
			return keep
		}
		return d
	}
	rules := map[string]gateway.CacheRule{}
	for _, m := range cfg.Models {
		if m.Cache != nil {
			rules[m.Name] = gateway.CacheRule{TTL: ttl(m.Cache.TTL.D()), Scope: m.Cache.Scope}
		}
	}
	for _, r := range cfg.Routes {
		if r.Cache != nil {
			rules[r.Name] = gateway.CacheRule{TTL: ttl(r.Cache.TTL.D()), Scope: r.Cache.Scope}
		}
	}
	if len(rules) > 0 {
		c := cache.New(cache.Options{MaxBytes: cfg.Cache.MaxBytes, MaxEntryBytes: cfg.Cache.MaxEntryBytes})
		o.Cache, o.CacheRules = c, rules
		g.collectors = append(g.collectors, c.Collector())
	}
	if caps := o.Router.Capacities(); len(caps) > 0 {
		g.collectors = append(g.collectors, capacityCollector(caps))
	}
}

var (
	descCapInFlight = prometheus.NewDesc("fulcrum_capacity_in_flight", "Requests holding a slot on a provider with a capacity limit.", []string{"provider"}, nil)
	descCapWaiting  = prometheus.NewDesc("fulcrum_capacity_waiting", "Requests queued for a slot (policy permits no other target).", []string{"provider"}, nil)
	descCapEngine   = prometheus.NewDesc("fulcrum_capacity_engine_waiting", "The serving engine's own waiting queue as last read from its metrics (-1 unknown).", []string{"provider"}, nil)
	descSpilled     = prometheus.NewDesc("fulcrum_spillover_total", "Requests sent to another permitted target because the provider was saturated.", []string{"provider"}, nil)
	descSpillCost   = prometheus.NewDesc("fulcrum_spillover_cost_usd_total", "What the spilled requests cost where they were served instead, in USD.", []string{"provider"}, nil)
	descSpillTokens = prometheus.NewDesc("fulcrum_spillover_tokens_total", "Tokens of the spilled requests, served elsewhere.", []string{"provider"}, nil)
	descQueued      = prometheus.NewDesc("fulcrum_capacity_queued_total", "Requests that waited for a slot.", []string{"provider"}, nil)
	descRejected    = prometheus.NewDesc("fulcrum_capacity_rejected_total", "Requests refused 503 by reason: timeout (waited queue_timeout) or queue_full.", []string{"provider", "reason"}, nil)
)

type capCollector []*router.Capacity

func capacityCollector(caps []*router.Capacity) prometheus.Collector { return capCollector(caps) }

func (capCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCapInFlight, descCapWaiting, descCapEngine, descSpilled, descSpillCost, descSpillTokens, descQueued, descRejected} {
		ch <- d
	}
}

func (cc capCollector) Collect(ch chan<- prometheus.Metric) {
	for _, c := range cc {
		s := c.Stats()
		p := s.Provider
		ch <- prometheus.MustNewConstMetric(descCapInFlight, prometheus.GaugeValue, float64(s.InFlight), p)
		ch <- prometheus.MustNewConstMetric(descCapWaiting, prometheus.GaugeValue, float64(s.Waiting), p)
		ch <- prometheus.MustNewConstMetric(descCapEngine, prometheus.GaugeValue, float64(s.EngineWaiting), p)
		ch <- prometheus.MustNewConstMetric(descSpilled, prometheus.CounterValue, float64(s.Spilled), p)
		ch <- prometheus.MustNewConstMetric(descSpillCost, prometheus.CounterValue, float64(s.SpilledCostNanos)/1e9, p)
		ch <- prometheus.MustNewConstMetric(descSpillTokens, prometheus.CounterValue, float64(s.SpilledTokens), p)
		ch <- prometheus.MustNewConstMetric(descQueued, prometheus.CounterValue, float64(s.Queued), p)
		ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(s.QueueTimeouts), p, "timeout")
		ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(s.QueueFull), p, "queue_full")
	}
}
