package loadgen

import (
	"encoding/json"
	"math"
	"runtime"
	"runtime/metrics"
	"testing"
)

func TestTargetGoDelta(t *testing.T) {
	a := ParseProm([]byte(`# HELP go_gc_duration_seconds x
go_gc_duration_seconds{quantile="1"} 0.0004
go_gc_duration_seconds_sum 0.010
go_gc_duration_seconds_count 10
fulcrum_record_commit_seconds_bucket{le="0.01"} 90
fulcrum_record_commit_seconds_bucket{le="0.025"} 95
fulcrum_record_commit_seconds_bucket{le="0.05"} 100
fulcrum_record_commit_seconds_bucket{le="0.1"} 100
fulcrum_record_commit_seconds_bucket{le="+Inf"} 100
fulcrum_record_commit_seconds_sum 0.5
fulcrum_record_commit_seconds_count 100
`))
	b := ParseProm([]byte(`go_gc_duration_seconds{quantile="1"} 0.002
go_gc_duration_seconds_sum 0.013
go_gc_duration_seconds_count 14
fulcrum_record_commit_seconds_bucket{le="0.01"} 185
fulcrum_record_commit_seconds_bucket{le="0.025"} 194
fulcrum_record_commit_seconds_bucket{le="0.05"} 199
fulcrum_record_commit_seconds_bucket{le="0.1"} 200
fulcrum_record_commit_seconds_bucket{le="+Inf"} 200
fulcrum_record_commit_seconds_sum 1.5
fulcrum_record_commit_seconds_count 200
fulcrum_flight_slow_requests_total 3
`))
	got := TargetGoDelta(a, b)
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	if got.GCCycles != 4 || !near(got.GCPauseTotalMs, 3) || !near(got.GCPauseMaxMs, 2) ||
		got.Commits != 100 || !near(got.CommitTotalMs, 1000) || got.CommitsOver25 != 1 || got.SlowRequests != 3 {
		t.Errorf("got %+v", got)
	}
	// All 100 commits fell under 0.1 but only 99 under 0.05.
	if got.CommitMaxLeMs != 100 {
		t.Errorf("slowest commit's bucket %v ms, want 100", got.CommitMaxLeMs)
	}
}

func TestTargetGoDeltaSlowestOverLastBucket(t *testing.T) {
	a := ParseProm([]byte("fulcrum_record_commit_seconds_bucket{le=\"2.5\"} 10\nfulcrum_record_commit_seconds_bucket{le=\"+Inf\"} 10\nfulcrum_record_commit_seconds_count 10\n"))
	b := ParseProm([]byte("fulcrum_record_commit_seconds_bucket{le=\"2.5\"} 12\nfulcrum_record_commit_seconds_bucket{le=\"+Inf\"} 13\nfulcrum_record_commit_seconds_count 13\n"))
	got := TargetGoDelta(a, b)
	if got.CommitMaxLeMs != -1 || got.CommitsOver25 != 3 {
		t.Errorf("a commit over 2.5 s: %+v, want commit_max_le_ms -1", got)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Error(err)
	}
}

func TestHistDiff(t *testing.T) {
	a := &metrics.Float64Histogram{Buckets: []float64{0, 0.001, 0.01, 0.1, math.Inf(1)}, Counts: []uint64{10, 0, 0, 0}}
	b := &metrics.Float64Histogram{Buckets: a.Buckets, Counts: []uint64{1009, 0, 1, 0}}
	q, mx := histDiff(a, b, 0.999)
	if q != 1 || mx != 100 {
		t.Errorf("p99.9 %v ms, max %v ms; want 1 and 100", q, mx)
	}
	r := ReadRuntime()
	runtime.GC()
	if h := HarnessSince(r); h.GCCycles < 1 || h.GCPauseMaxMs <= 0 {
		t.Errorf("harness %+v", h)
	}
}
