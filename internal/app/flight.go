package app

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// flightRecorder keeps the last seconds of Go's execution trace in memory
// (runtime/trace.FlightRecorder) and writes them to a file when a request
// takes longer than slow, so a latency tail can be read after the fact:
// which goroutines were runnable and not running, which were in a system
// call, on a lock, or stopped for the garbage collector, at the moment it
// happened. A fixed-time profile taken later misses a tail episode of a
// few seconds; this one is taken because of it.
//
// Snapshots are rate-limited (one per minGap) and bounded in number
// (max), and written by a goroutine of their own, never by the request.
type flightRecorder struct {
	fr     *trace.FlightRecorder
	slow   time.Duration
	dir    string
	max    int
	minGap time.Duration
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex // guards the following fields
	written int        // snapshots started
	last    time.Time  // when the last one started

	slowSeen atomic.Int64 // slow requests, snapshot or not
	wg       sync.WaitGroup
}

// wireFlight starts the flight recorder when diagnostics.flight_recorder
// is on; Serve wraps the handler with it.
func (g *Gateway) wireFlight() error {
	f, err := newFlightRecorder(g.Config.Diagnostics.FlightRecorder, g.Config.Storage.DataDir, g.log)
	if err != nil || f == nil {
		return err
	}
	g.flight = f
	g.closers = append(g.closers, f.Close)
	g.collectors = append(g.collectors, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "fulcrum_flight_slow_requests_total",
		Help: "Requests slower than diagnostics.flight_recorder.slow_request (each may or may not have written a snapshot).",
	}, func() float64 { return float64(f.slowSeen.Load()) }))
	return nil
}

// newFlightRecorder starts a flight recorder from cfg, or returns nil
// when it is off. dataDir is the default snapshot directory's parent.
func newFlightRecorder(cfg config.FlightRecorder, dataDir string, log *slog.Logger) (*flightRecorder, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	f := &flightRecorder{
		slow:   cmp.Or(cfg.SlowRequest.D(), 100*time.Millisecond),
		dir:    cmp.Or(cfg.Dir, filepath.Join(dataDir, "flight")),
		max:    cmp.Or(cfg.MaxSnapshots, 10),
		minGap: cmp.Or(cfg.MinInterval.D(), 10*time.Second),
		log:    log,
		now:    time.Now,
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return nil, fmt.Errorf("diagnostics.flight_recorder.dir: %w", err)
	}
	f.fr = trace.NewFlightRecorder(trace.FlightRecorderConfig{
		MinAge:   cmp.Or(cfg.Window.D(), 2*time.Second),
		MaxBytes: uint64(cmp.Or(cfg.MaxBytes, 32<<20)),
	})
	if err := f.fr.Start(); err != nil {
		return nil, fmt.Errorf("diagnostics.flight_recorder: %w", err)
	}
	log.Info("flight recorder on", "slow_request", f.slow, "dir", f.dir, "max_snapshots", f.max)
	return f, nil
}

// wrap times each request through h and takes a snapshot after a slow one.
// Each request is a region named "http request" in the trace, so a
// snapshot shows where each one began and ended and what its goroutine
// did in between.
func (f *flightRecorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		region := trace.StartRegion(r.Context(), "http request")
		h.ServeHTTP(w, r)
		region.End()
		if d := time.Since(start); d > f.slow {
			f.slowRequest(d, r.URL.Path)
		}
	})
}

// slowRequest starts a snapshot unless the rate limit or the count
// forbids one. It does not wait for the snapshot to be written.
func (f *flightRecorder) slowRequest(d time.Duration, path string) {
	f.slowSeen.Add(1)
	now := f.now()
	f.mu.Lock()
	if f.written >= f.max || (!f.last.IsZero() && now.Sub(f.last) < f.minGap) {
		f.mu.Unlock()
		return
	}
	f.written++
	f.last = now
	n := f.written
	f.mu.Unlock()
	name := filepath.Join(f.dir, fmt.Sprintf("flight-%s-%dms.trace", now.UTC().Format("20060102T150405.000Z"), d.Milliseconds()))
	f.wg.Go(func() {
		if err := f.snapshot(name); err != nil {
			f.log.Warn("flight recorder: snapshot not written", "file", name, "err", err)
			return
		}
		f.log.Info("flight recorder: slow request, snapshot written", "file", name, "path", path,
			"took", d, "snapshot", n, "of", f.max)
	})
}

func (f *flightRecorder) snapshot(name string) error {
	out, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.fr.WriteTo(out)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}

// Close waits for snapshots being written and stops the recorder.
func (f *flightRecorder) Close() error {
	f.wg.Wait()
	f.fr.Stop()
	return nil
}
