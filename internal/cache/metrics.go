package cache

import "github.com/prometheus/client_golang/prometheus"

// Collector exposes the cache's counters as Prometheus series, read at
// scrape time (no work on the request path).
func (c *Cache) Collector() prometheus.Collector { return collector{c} }

var (
	descLookups = prometheus.NewDesc("fulcrum_cache_lookups_total",
		"Response cache look-ups by result (hit, miss).", []string{"result"}, nil)
	descStores    = prometheus.NewDesc("fulcrum_cache_stores_total", "Answers written to the response cache.", nil, nil)
	descEvictions = prometheus.NewDesc("fulcrum_cache_evictions_total",
		"Entries evicted by reason (size: least recently used past max_bytes; expired: TTL).", []string{"reason"}, nil)
	descSaved   = prometheus.NewDesc("fulcrum_cache_saved_usd_total", "Upstream cost the response cache's hits did not spend, in USD.", nil, nil)
	descEntries = prometheus.NewDesc("fulcrum_cache_entries", "Entries in the response cache.", nil, nil)
	descBytes   = prometheus.NewDesc("fulcrum_cache_bytes", "Approximate size of the response cache's entries.", nil, nil)
)

type collector struct{ c *Cache }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLookups, descStores, descEvictions, descSaved, descEntries, descBytes} {
		ch <- d
	}
}

func (k collector) Collect(ch chan<- prometheus.Metric) {
	s := k.c.Stats()
	ch <- prometheus.MustNewConstMetric(descLookups, prometheus.CounterValue, float64(s.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(descLookups, prometheus.CounterValue, float64(s.Misses), "miss")
	ch <- prometheus.MustNewConstMetric(descStores, prometheus.CounterValue, float64(s.Stores))
	ch <- prometheus.MustNewConstMetric(descEvictions, prometheus.CounterValue, float64(s.Evictions), "size")
	ch <- prometheus.MustNewConstMetric(descEvictions, prometheus.CounterValue, float64(s.Expired), "expired")
	ch <- prometheus.MustNewConstMetric(descSaved, prometheus.CounterValue, float64(s.SavedNanos)/1e9)
	ch <- prometheus.MustNewConstMetric(descEntries, prometheus.GaugeValue, float64(s.Entries))
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(s.Bytes))
}
