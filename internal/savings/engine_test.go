package savings

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"
)

// Samples every 2 s, by hand:
//
//	t=0   running 1
//	t=2   running 0    0–2 busy (held from t=0)       observed 2, busy 2
//	t=4   running 3    2–4 idle                       observed 4, busy 2
//	t=6   read failed  4–6 unknown: not counted
//	t=8   running 1    (first sample after the gap)
//	t=10  running 0    8–10 busy                      observed 6, busy 4
//
// engine utilisation = 4 / 6 = 0.667, over 6 s observed.
func TestEngineUtilisation(t *testing.T) {
	now := month0
	l := NewLedger([]Provider{gpuBox}, LedgerOptions{Now: func() time.Time { return now }})
	if l.Lines()[0].EngineUtilisation != nil {
		t.Fatal("engine utilisation before any sample")
	}
	for _, s := range []struct {
		at      int
		running float64
		ok      bool
	}{{0, 1, true}, {2, 0, true}, {4, 3, true}, {6, 0, false}, {8, 1, true}, {10, 0, true}} {
		l.EngineSample("gpu-box", month0.Add(time.Duration(s.at)*time.Second), s.running, s.ok)
	}
	l.EngineSample("not-configured", month0, 1, true) // ignored
	now = month0.Add(10 * time.Second)
	ln := l.Lines()[0]
	if ln.EngineUtilisation == nil || math.Abs(*ln.EngineUtilisation-4.0/6) > 1e-12 || ln.EngineObservedSeconds != 6 {
		t.Errorf("engine utilisation %v over %v s, want 0.667 over 6 s", ln.EngineUtilisation, ln.EngineObservedSeconds)
	}
}

// PollEngine reads until its context ends, counting failed reads as gaps.
func TestPollEngine(t *testing.T) {
	var clock atomic.Int64 // seconds after month0, advanced by each read
	l := NewLedger([]Provider{gpuBox}, LedgerOptions{Now: func() time.Time { return month0.Add(time.Duration(clock.Load()) * time.Second) }})
	ctx, cancel := context.WithCancel(context.Background())
	var reads atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.PollEngine(ctx, "gpu-box", time.Millisecond, func(context.Context) (float64, error) {
			n := reads.Add(1)
			clock.Store(n)
			if n == 5 {
				cancel()
			}
			if n == 3 {
				return 0, errors.New("connection refused")
			}
			return 1, nil // always running
		})
	}()
	<-done
	// Reads 1, 2 (ok), 3 (failed), 4 (ok): counted 1→2 only (2→3 ended in
	// a failure, 3→4 starts after it); read 5 came after cancel.
	ln := l.Lines()[0]
	if ln.EngineUtilisation == nil || *ln.EngineUtilisation != 1 || ln.EngineObservedSeconds != 1 {
		t.Errorf("engine utilisation %v over %v s, want 1 over 1 s", ln.EngineUtilisation, ln.EngineObservedSeconds)
	}
}
