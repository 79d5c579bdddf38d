package savings

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
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

// A shadow call to the self-hosted provider (attempt below zero) and a
// judge's call (attempt 0) keep the GPU busy but replace no API call: by
// hand, over 10 hours of $1 rent,
//
//	client   01:00–02:00  1,000 in / 1,000 out, reference $30
//	shadow   01:30–03:00  5,000 in / 5,000 out, reference $150 (not saved)
//	judge    05:00–05:30  100 in / 10 out, reference $1 (not saved)
//
//	busy = 01:00–03:00 + 05:00–05:30 = 2.5 h of 10 = 25%
//	tokens 2,000 (the client's only), reference $30, paid $10, savings $20
//
// Live and from the store the ledger reads the same.
func TestEvaluationCallsAreBusyTimeOnly(t *testing.T) {
	p := Provider{Name: "gpu", GPUHourlyUSD: 1}
	h := func(m int) time.Time { return month0.Add(time.Duration(m) * time.Minute) }
	calls := []struct {
		n          int
		start, end int
		in, out    int64
		ref        int64
	}{{1, 60, 120, 1000, 1000, 30e9}, {-1, 90, 180, 5000, 5000, 150e9}, {0, 300, 330, 100, 10, 1e9}}
	check := func(name string, ln Line) {
		t.Helper()
		if ln.Utilisation != 0.25 || ln.Tokens != 2000 || ln.ReferenceNanos != 30e9 || ln.PaidNanos != 10e9 ||
			ln.SavingsNanos != 20e9 || ln.Requests != 1 || ln.EvaluationRequests != 2 {
			t.Errorf("%s: %+v", name, ln)
		}
	}

	now := month0
	l := NewLedger([]Provider{p}, LedgerOptions{Now: func() time.Time { return now }})
	for _, c := range calls {
		l.Observe(Attempt{Provider: "gpu", Start: h(c.start), Latency: h(c.end).Sub(h(c.start)), Input: c.in, Output: c.out,
			ReferenceNanos: c.ref, Evaluation: c.n <= 0})
	}
	now = h(600)
	check("live", l.Lines()[0])

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var recs []store.UsageRecord
	for i, c := range calls {
		recs = append(recs, store.UsageRecord{Time: h(c.start), RequestID: "r" + string(rune('a'+i)), Attempt: c.n, Model: "m", Provider: "gpu",
			Hosting: "self_hosted", Status: 200, LatencyMS: h(c.end).Sub(h(c.start)).Milliseconds(), InputTokens: c.in, OutputTokens: c.out, ReferenceCostNanos: c.ref})
	}
	if _, err := st.InsertUsage(ctx, recs); err != nil {
		t.Fatal(err)
	}
	s, _, ok, err := Load(ctx, st, "gpu", month0, h(600))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	check("store", Compute(p, month0, h(600), s))
}
