package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

// Disk states.
const (
	diskOK     = 0
	diskLow    = 1 // under warn_free: logged, gauge 1
	diskRefuse = 2 // under refuse_free: requests refused with 503
)

// diskGuard watches the data directory's free space.
type diskGuard struct {
	dir string
	// more are other directories records are written to (the SQLite
	// file's, the journal's, when not in dir): the guard watches the
	// one with the least free space.
	more       []string
	warn, hard int64 // bytes; <= 0: off
	free       func(dir string) (int64, error)
	log        *slog.Logger
	state      atomic.Int32
	freeBytes  atomic.Int64
}

// check reads the free space and moves the state, logging transitions.
func (d *diskGuard) check() {
	dir, free := "", int64(0)
	for _, p := range append([]string{d.dir}, d.more...) {
		f, err := d.free(p)
		if err != nil && p != d.dir {
			continue // not made yet (the journal's), or gone: dir still counts
		}
		if err != nil {
			d.log.Warn("cannot read the data directory's free space", "dir", p, "err", err)
			return
		}
		if dir == "" || f < free {
			dir, free = p, f
		}
	}
	d.freeBytes.Store(free)
	st := int32(diskOK)
	switch {
	case d.hard > 0 && free < d.hard:
		st = diskRefuse
	case d.warn > 0 && free < d.warn:
		st = diskLow
	}
	if old := d.state.Swap(st); old != st {
		switch st {
		case diskRefuse:
			d.log.Error("data directory nearly full: refusing requests that need a record", "dir", dir, "free_bytes", free, "refuse_free", d.hard)
		case diskLow:
			d.log.Warn("data directory low on space", "dir", dir, "free_bytes", free, "warn_free", d.warn)
		default:
			d.log.Info("data directory has space again", "dir", dir, "free_bytes", free)
		}
	}
}

func (d *diskGuard) run(ctx context.Context, every time.Duration) { tick(ctx, every, d.check) }

// tick calls f every interval until ctx ends.
func tick(ctx context.Context, every time.Duration, f func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// refusal is the error a request gets while the disk is past the hard limit.
func (d *diskGuard) refusal() *llm.Error {
	return &llm.Error{Status: http.StatusServiceUnavailable, Type: llm.ErrOverloaded, Code: "insufficient_storage",
		Message: fmt.Sprintf("the gateway's data directory has %d MB free, under its limit of %d MB "+
			"(metering.disk.refuse_free): requests are refused until space is freed, so that none goes unrecorded",
			d.freeBytes.Load()/1e6, d.hard/1e6),
		RetryAfter: 30 * time.Second}
}

// diskLimiter refuses every request while the disk is past the hard
// limit, then admits through next (nil admits everything).
type diskLimiter struct {
	d    *diskGuard
	next gateway.Limiter
}

func (l *diskLimiter) Admit(ctx context.Context, c *gateway.Caller, req *llm.ChatRequest, endUser string) (gateway.Admission, error) {
	if l.d.state.Load() == diskRefuse {
		return nil, l.d.refusal()
	}
	if l.next == nil {
		return noAdmission{}, nil
	}
	return l.next.Admit(ctx, c, req, endUser)
}

// wireDisk starts the free-space guard of the data directory: a warning
// (log and metric) under warn_free, and under refuse_free a 503 for
// requests instead of records lost.
func (g *Gateway) wireDisk(ctx context.Context, o *gateway.Options) {
	cfg := g.Config.Metering.Disk
	if g.Config.Metering.Disabled || (cfg.WarnFree <= 0 && cfg.RefuseFree <= 0) {
		return
	}
	d := &diskGuard{dir: g.Config.Storage.DataDir, more: recordDirs(g.Config), warn: int64(cfg.WarnFree), hard: int64(cfg.RefuseFree), free: freeBytes, log: g.log}
	d.check()
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go d.run(ctx, cfg.CheckInterval.D())
	g.closers = append(g.closers, func() error { cancel(); return nil })
	o.Limiter = &diskLimiter{d: d, next: o.Limiter}
	g.collectors = append(g.collectors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fulcrum_data_dir_free_bytes",
			Help: "Free space in the data directory's file system, in bytes."},
			func() float64 { return float64(d.freeBytes.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fulcrum_data_dir_low_space",
			Help: "0: enough free space; 1: under metering.disk.warn_free; 2: under refuse_free, requests refused."},
			func() float64 { return float64(d.state.Load()) }))
}

// recordDirs lists the directories besides the data directory that records
// are written to: the SQLite file's (storage.url may put it on another
// volume) and the journal's (metering.journal_dir).
func recordDirs(cfg *config.Config) []string {
	seen := map[string]bool{filepath.Clean(cfg.Storage.DataDir): true}
	var out []string
	add := func(dir string) {
		if dir = filepath.Clean(dir); dir != "" && !seen[dir] {
			seen[dir] = true
			out = append(out, dir)
		}
	}
	if p, err := sqlite.PathFromURL(cfg.Storage.URL); err == nil && p != ":memory:" {
		add(filepath.Dir(p))
	}
	add(cfg.JournalPath())
	return out
}
