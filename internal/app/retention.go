package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// PruneJob is one kind of record with its retention.
type PruneJob struct {
	Kind string
	// Keep is how long records are kept; 0 keeps them for ever.
	Keep time.Duration
	// Unit, when set, rounds the cut-off down (store.PruneUnit).
	Unit  time.Duration
	Prune store.Pruner
}

// PruneJobs lists the kinds of record cfg keeps in st with their retention.
func PruneJobs(cfg *config.Config, st store.Store) []PruneJob {
	r := cfg.Metering.Retention
	var jobs []PruneJob
	if rt, ok := st.(store.Retention); ok {
		for _, k := range []struct {
			kind store.Kind
			keep config.Days
		}{{store.KindUsage, r.Usage}, {store.KindAudit, r.Audit}, {store.KindRollupMinute, r.MinuteRollups}, {store.KindRollupHourly, r.HourlyRollups}, {store.KindRollupDaily, r.DailyRollups}, {store.KindShadow, r.Shadow},
			{store.KindResponses, r.Conversations}} {
			kind := k.kind
			var unit time.Duration
			if u, ok := st.(store.PruneUnit); ok {
				unit = u.PruneUnit(kind)
			}
			jobs = append(jobs, PruneJob{Kind: string(kind), Keep: k.keep.D(), Unit: unit,
				Prune: func(ctx context.Context, before time.Time, limit int, dryRun bool) (int64, error) {
					return rt.Prune(ctx, kind, before, limit, dryRun)
				}})
		}
	}
	return jobs
}

// PruneResult is what pruning one kind did (or, dry, would do).
type PruneResult struct {
	Kind   string    `json:"kind"`
	Before time.Time `json:"before"`
	Rows   int64     `json:"rows"`
}

// Prune runs every job whose retention is set: in transactions of at most
// batch rows, pausing between them so that request recording is never
// held up for long. With dryRun it only counts. A kind that fails does not
// stop the others (a failing audit delete must not let the rollups grow
// for ever): the failures are returned together.
func Prune(ctx context.Context, jobs []PruneJob, now time.Time, batch int, pause time.Duration, dryRun bool) ([]PruneResult, error) {
	var out []PruneResult
	var errs []error
	for _, j := range jobs {
		if j.Keep <= 0 {
			continue
		}
		res := PruneResult{Kind: j.Kind, Before: now.Add(-j.Keep).UTC()}
		if j.Unit > 0 {
			res.Before = res.Before.Truncate(j.Unit)
		}
		for {
			n, err := j.Prune(ctx, res.Before, batch, dryRun)
			res.Rows += n
			if err != nil {
				if ctx.Err() != nil {
					return append(out, res), errors.Join(append(errs, err)...)
				}
				errs = append(errs, err) // the store's errors name the kind
				break
			}
			if dryRun || n < int64(batch) {
				break
			}
			select {
			case <-ctx.Done():
				return append(out, res), ctx.Err()
			case <-time.After(pause):
			}
		}
		out = append(out, res)
	}
	return out, errors.Join(errs...)
}

// analyzeEvery is how often the statistics loop asks the store whether
// the day being written needs planner statistics (store.Analyzer).
const analyzeEvery = time.Minute

// startAnalyze runs the store's Analyze every interval until ctx ends, in
// its own goroutine: the retention loop's Upkeep may spend minutes
// converting a table, and a day partition without statistics is read by
// scanning it whole meanwhile. Stores that are not Analyzers get no loop.
func startAnalyze(ctx context.Context, st store.Store, every time.Duration, log *slog.Logger) func() error {
	a, ok := st.(store.Analyzer)
	if !ok {
		return func() error { return nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick(ctx, every, func() {
			if err := a.Analyze(ctx); err != nil && ctx.Err() == nil {
				log.Warn("gathering planner statistics failed; will retry", "err", err)
			}
		})
	}()
	return func() error {
		cancel()
		<-done
		return nil
	}
}

// startRetention prunes in the background every interval until ctx ends,
// then gives the space back (store.Retention.Maintain).
func startRetention(ctx context.Context, cfg *config.Config, st store.Store, log *slog.Logger) func() error {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	r := cfg.Metering.Retention
	go func() {
		defer close(done)
		t := time.NewTicker(r.Interval.D())
		defer t.Stop()
		for {
			if u, ok := st.(store.Upkeeper); ok {
				if err := u.Upkeep(ctx); err != nil && ctx.Err() == nil {
					log.Error("store upkeep failed; will retry", "err", err)
				}
			}
			res, err := Prune(ctx, PruneJobs(cfg, st), time.Now(), r.Batch, 50*time.Millisecond, false)
			if err != nil && ctx.Err() == nil {
				log.Error("pruning records failed; will retry", "err", err)
			}
			total := int64(0)
			for _, p := range res {
				total += p.Rows
				if p.Rows > 0 {
					log.Info("pruned records", "kind", p.Kind, "before", p.Before, "rows", p.Rows)
				}
			}
			if rt, ok := st.(store.Retention); ok && total > 0 && ctx.Err() == nil {
				if err := rt.Maintain(ctx); err != nil {
					log.Warn("store maintenance after pruning failed", "err", err)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() error {
		cancel()
		<-done
		return nil
	}
}
