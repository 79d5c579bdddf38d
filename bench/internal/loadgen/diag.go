package loadgen

import (
	"math"
	"runtime/metrics"
)

// Harness is what the load generator's own Go runtime did during a run:
// its garbage collector's stops and how long its goroutines waited to run.
// A stall here delays sends and reads and is charged to the target's
// latency by the open loop, so it is measured to be told apart.
type Harness struct {
	GCCycles int64 `json:"gc_cycles"`
	// GCPauseMaxMs is the longest stop-the-world pause (upper bound of
	// its histogram bucket).
	GCPauseMaxMs float64 `json:"gc_pause_max_ms"`
	// SchedP999Ms and SchedMaxMs: time goroutines spent runnable before
	// running (runtime/metrics /sched/latencies:seconds).
	SchedP999Ms float64 `json:"sched_p999_ms"`
	SchedMaxMs  float64 `json:"sched_max_ms"`
}

// Machine is the machine's CPU over a run, from /proc/stat, in percent of
// all CPUs' time.
type Machine struct {
	BusyPct   float64 `json:"busy_pct"`   // not idle, not iowait
	StealPct  float64 `json:"steal_pct"`  // the hypervisor ran someone else
	IOWaitPct float64 `json:"iowait_pct"` // idle with I/O outstanding
}

// Sched is the target process's scheduling over a run, summed over its
// threads (/proc/PID/task/*/schedstat and status).
type Sched struct {
	// RunDelayMs is the time its threads were runnable and waited for a
	// CPU, and RunDelayPct that as a share of the run's wall time.
	RunDelayMs  float64 `json:"run_delay_ms"`
	RunDelayPct float64 `json:"run_delay_pct"`
	Voluntary   int64   `json:"voluntary_switches"`
	Involuntary int64   `json:"involuntary_switches"`
}

// TargetGo holds deltas of the target's Prometheus metrics over a run.
type TargetGo struct {
	GCCycles       int64   `json:"gc_cycles"`
	GCPauseTotalMs float64 `json:"gc_pause_total_ms"`
	// GCPauseMaxMs is go_gc_duration_seconds{quantile="1"} at the end: the
	// longest of the last pauses the runtime keeps (up to 256), which may
	// reach before the run.
	GCPauseMaxMs float64 `json:"gc_pause_max_ms"`
	// Commits of record batches to the store (fulcrum_record_commit_seconds):
	// how many, their total time, how many took over 25 ms and the upper
	// bound of the slowest one's bucket (-1: over the largest, 2.5 s).
	Commits        int64   `json:"commits"`
	CommitTotalMs  float64 `json:"commit_total_ms"`
	CommitsOver25  int64   `json:"commits_over_25ms"`
	CommitMaxLeMs  float64 `json:"commit_max_le_ms"`
	SlowRequests   int64   `json:"slow_requests"`
	HeapAfterGCMiB float64 `json:"heap_goal_mib"`
}

// RuntimeSample is a reading of the runtime metrics Harness is made of.
type RuntimeSample []metrics.Sample

// ReadRuntime reads this process's GC and scheduling metrics.
func ReadRuntime() RuntimeSample {
	s := RuntimeSample{
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/gc/pauses:seconds"},
		{Name: "/sched/latencies:seconds"},
	}
	metrics.Read(s)
	return s
}

// HarnessSince is what happened between from and now.
func HarnessSince(from RuntimeSample) *Harness {
	to := ReadRuntime()
	h := &Harness{}
	if to[0].Value.Kind() == metrics.KindUint64 {
		h.GCCycles = int64(to[0].Value.Uint64() - from[0].Value.Uint64())
	}
	if to[1].Value.Kind() == metrics.KindFloat64Histogram {
		_, h.GCPauseMaxMs = histDiff(from[1].Value.Float64Histogram(), to[1].Value.Float64Histogram(), 0.999)
	}
	if to[2].Value.Kind() == metrics.KindFloat64Histogram {
		h.SchedP999Ms, h.SchedMaxMs = histDiff(from[2].Value.Float64Histogram(), to[2].Value.Float64Histogram(), 0.999)
	}
	return h
}

// histDiff returns quantile q and the largest value (each as its bucket's
// upper bound, in ms) of the observations between two readings of a
// cumulative runtime histogram.
func histDiff(a, b *metrics.Float64Histogram, q float64) (qMs, maxMs float64) {
	var total uint64
	d := make([]uint64, len(b.Counts))
	for i := range b.Counts {
		d[i] = b.Counts[i]
		if i < len(a.Counts) {
			d[i] -= a.Counts[i]
		}
		total += d[i]
	}
	if total == 0 {
		return 0, 0
	}
	upper := func(i int) float64 {
		u := b.Buckets[i+1]
		if math.IsInf(u, 1) {
			u = b.Buckets[i]
		}
		if math.IsInf(u, 0) {
			return 0
		}
		return u * 1e3
	}
	want := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	qMs = -1
	for i, c := range d {
		seen += c
		if qMs < 0 && seen >= want {
			qMs = upper(i)
		}
		if c > 0 {
			maxMs = upper(i)
		}
	}
	return qMs, maxMs
}
