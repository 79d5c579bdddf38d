package loadgen

import (
	"bufio"
	"bytes"
	"math"
	"strconv"
	"strings"
)

// ParseProm reads Prometheus text exposition into series -> value, the
// series written as exposed (`name{label="v",...}`). Comments and
// unparsable lines are skipped.
func ParseProm(b []byte) map[string]float64 {
	m := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m
}

// TargetGoDelta is what a Fulcrum gateway's /metrics say happened between
// two scrapes.
func TargetGoDelta(a, b map[string]float64) *TargetGo {
	d := func(k string) float64 { return b[k] - a[k] }
	t := &TargetGo{
		GCCycles:       int64(d("go_gc_duration_seconds_count")),
		GCPauseTotalMs: d("go_gc_duration_seconds_sum") * 1e3,
		GCPauseMaxMs:   b[`go_gc_duration_seconds{quantile="1"}`] * 1e3,
		Commits:        int64(d("fulcrum_record_commit_seconds_count")),
		CommitTotalMs:  d("fulcrum_record_commit_seconds_sum") * 1e3,
		SlowRequests:   int64(d("fulcrum_flight_slow_requests_total")),
		HeapAfterGCMiB: b["go_memstats_next_gc_bytes"] / (1 << 20),
	}
	t.CommitsOver25 = t.Commits - int64(d(`fulcrum_record_commit_seconds_bucket{le="0.025"}`))
	// The slowest commit's bucket: the smallest bound whose cumulative
	// count grew by all the commits.
	best := math.Inf(1)
	for k := range b {
		le, ok := strings.CutPrefix(k, `fulcrum_record_commit_seconds_bucket{le="`)
		if !ok {
			continue
		}
		bound, err := strconv.ParseFloat(strings.TrimSuffix(le, `"}`), 64)
		if err != nil || math.IsInf(bound, 1) {
			continue
		}
		if int64(d(k)) == t.Commits && bound < best {
			best = bound
		}
	}
	switch {
	case t.Commits == 0:
	case math.IsInf(best, 1):
		t.CommitMaxLeMs = -1 // over the largest finite bucket (JSON has no +Inf)
	default:
		t.CommitMaxLeMs = best * 1e3
	}
	return t
}
