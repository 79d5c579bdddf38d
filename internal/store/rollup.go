package store

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"strings"
	"time"
)

// LatencyBoundsMS are the upper bounds, in milliseconds, of the latency
// buckets rollups count attempts in; the last bucket is everything above.
var LatencyBoundsMS = [...]int64{50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000}

// LatencyBuckets is how many latency buckets there are.
const LatencyBuckets = len(LatencyBoundsMS) + 1

// LatencyBucket returns the bucket of a latency in milliseconds.
func LatencyBucket(ms int64) int {
	return sort.Search(len(LatencyBoundsMS), func(i int) bool { return ms <= LatencyBoundsMS[i] })
}

// Percentile returns the upper bound (ms) of the bucket that holds the
// q-quantile (0 < q <= 1) of hist; -1 for the open last bucket, 0 when
// hist is empty.
func Percentile(hist [LatencyBuckets]int64, q float64) int64 {
	var n int64
	for _, c := range hist {
		n += c
	}
	if n == 0 {
		return 0
	}
	rank := int64(q*float64(n) + 0.999999)
	var seen int64
	for i, c := range hist {
		seen += c
		if seen >= rank {
			if i < len(LatencyBoundsMS) {
				return LatencyBoundsMS[i]
			}
			return -1
		}
	}
	return -1
}

// Rollup grains: second, minute, hourly and daily buckets (UTC). Minute
// rollups are kept briefly (metering.retention.minute_rollups): they spare
// a summary reading up to an hour of raw rows at each edge of its range.
// Second rollups are kept for SecondRollupsKept only, by the writers
// themselves: they spare a summary ending now reading the current
// minute's raw rows (60,000 at 1,000 requests/s), leaving at most the
// current second's.
const (
	GrainSecond = "s"
	GrainMinute = "m"
	GrainHour   = "h"
	GrainDay    = "d"
)

// GrainWidth is a grain's bucket width.
func GrainWidth(grain string) time.Duration {
	switch grain {
	case GrainDay:
		return 24 * time.Hour
	case GrainMinute:
		return time.Minute
	case GrainSecond:
		return time.Second
	}
	return time.Hour
}

// RollupKey identifies a rollup row. Tags is the usage row's tags column
// (see AttrKey) in second and minute rows, "" in hourly and daily ones:
// a summary by tag reads the edges of its range from the seconds and
// minutes as other summaries do (the whole hours from the attribution
// rollups), and a combination whose records carry one tag set (the common
// case) still has one row a grain, so recording writes no more rows than
// without it. Hourly and daily rows stay one per combination, so that
// summaries of many days read no more rows for the tags.
type RollupKey struct {
	Grain                                       string
	Bucket                                      int64 // bucket start, Unix µs
	KeyID, Team, Model, Provider, UpstreamModel string
	Hosting, PolicyAction, DataClasses, Tags    string
}

// RollupDelta is what records add to a rollup row.
type RollupDelta struct {
	Requests, InputTokens, OutputTokens, CachedTokens, CacheWriteTokens, ReasoningTokens int64
	CostNanos, ReferenceCostNanos, Estimated, Errors, LatencyMSSum                       int64
	Latency                                                                              [LatencyBuckets]int64
}

// Add adds r to d.
func (d *RollupDelta) Add(r *UsageRecord) {
	d.Requests++
	d.InputTokens += r.InputTokens
	d.OutputTokens += r.OutputTokens
	d.CachedTokens += r.CachedTokens
	d.CacheWriteTokens += r.CacheWriteTokens
	d.ReasoningTokens += r.ReasoningTokens
	d.CostNanos += r.CostNanos
	d.ReferenceCostNanos += r.ReferenceCostNanos
	if r.Estimated {
		d.Estimated++
	}
	if r.Status >= 400 {
		d.Errors++
	}
	d.LatencyMSSum += r.LatencyMS
	d.Latency[LatencyBucket(r.LatencyMS)]++
}

// SecondRollupsKept is how long second rollups are kept: summaries read
// them for edges within the last SecondRollupsUsable, raw rows for older
// ones.
const (
	SecondRollupsKept   = time.Hour
	SecondRollupsUsable = 50 * time.Minute
)

// AddRollups adds r to its second, minute, hourly and daily rollup rows in m. classes and
// tags are r.DataClasses and r.Tags as the store writes them (a JSON list;
// a JSON object, "" for none); tags go in the second and minute rows only.
func AddRollups(m map[RollupKey]*RollupDelta, r *UsageRecord, classes, tags string) {
	us := r.Time.UnixMicro()
	for _, g := range [...]string{GrainSecond, GrainMinute, GrainHour, GrainDay} {
		w := GrainWidth(g).Microseconds()
		b := us - us%w
		if us%w < 0 {
			b -= w
		}
		k := RollupKey{Grain: g, Bucket: b, KeyID: r.KeyID, Team: r.Team, Model: r.Model, Provider: r.Provider,
			UpstreamModel: r.UpstreamModel, Hosting: r.Hosting, PolicyAction: r.PolicyAction, DataClasses: classes}
		if g == GrainSecond || g == GrainMinute {
			k.Tags = tags
		}
		d := m[k]
		if d == nil {
			d = &RollupDelta{}
			m[k] = d
		}
		d.Add(r)
	}
}

// SortedRollupKeys returns m's keys in one global order, so concurrent
// transactions lock rollup rows alike.
func SortedRollupKeys(m map[RollupKey]*RollupDelta) []RollupKey {
	keys := make([]RollupKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Field by field, the order of the table's key (no joined strings
	// to allocate per comparison).
	slices.SortFunc(keys, func(a, b RollupKey) int {
		return cmp.Or(strings.Compare(a.Grain, b.Grain), cmp.Compare(a.Bucket, b.Bucket), strings.Compare(a.KeyID, b.KeyID),
			strings.Compare(a.Team, b.Team), strings.Compare(a.Model, b.Model), strings.Compare(a.Provider, b.Provider),
			strings.Compare(a.UpstreamModel, b.UpstreamModel), strings.Compare(a.Hosting, b.Hosting),
			strings.Compare(a.PolicyAction, b.PolicyAction), strings.Compare(a.DataClasses, b.DataClasses),
			strings.Compare(a.Tags, b.Tags))
	})
	return keys
}

// Busiest is implemented by stores with rollups (both): the busiest
// buckets of a grain, which `fulcrum advise --measured` takes its peak
// rate from without reading raw rows.
type Busiest interface {
	// Busiest returns the n buckets of grain (GrainMinute, GrainHour or
	// GrainDay) starting in [from, to) (to zero: no bound) that hold the
	// most attempts, busiest first
	// (the earliest first among equals), leaving out models that start
	// with skipModelPrefix ("": none). It reads only the rollups, so it
	// sees what they still keep (minute rollups:
	// metering.retention.minute_rollups).
	Busiest(ctx context.Context, grain string, from, to time.Time, skipModelPrefix string, n int) ([]Bucket, error)
}

// Bucket is a rollup bucket's start and the attempts it holds.
type Bucket struct {
	Start    time.Time
	Attempts int64
}
