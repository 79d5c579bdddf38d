package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/meter"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

func openStoreURL(ctx context.Context, url string, log *slog.Logger) (store.Store, error) {
	return open.Store(ctx, url, log)
}

// wireFeatures adds storage, metering, policy, keys and limits to o.
func (g *Gateway) wireFeatures(ctx context.Context, o *gateway.Options) error {
	cfg := g.Config
	st, err := openStore(ctx, cfg, g.log)
	if err != nil {
		return err
	}
	g.Store = st
	g.closers = append(g.closers, st.Close)
	o.Ready = readiness(st)
	o.Estimate = g.prices.Estimate
	o.Pricer = g.prices

	obs := &recorder{log: g.log}
	if !cfg.Metering.Disabled {
		// Audit rows of an older version's own journal go first, so the
		// chain keeps their order.
		if _, err := audit.RecoverJournal(ctx, st, filepath.Join(cfg.Storage.DataDir, "audit-journal"), g.log); err != nil {
			return err
		}
		commits := newCommitMetrics()
		g.collectors = append(g.collectors, commits.took, commits.failed)
		rec, err := meter.NewRecorder(ctx, meter.RecorderOptions{
			Store:         st,
			Dir:           cfg.JournalPath(),
			BatchSize:     cfg.Metering.BatchSize,
			FlushInterval: cfg.Metering.FlushInterval.D(),
			Fsync:         cfg.Metering.JournalFsync,
			Logger:        g.log,
			AuditHash:     audit.Hash,
			OnBatch:       commits.observe,
		})
		if err != nil {
			return fmt.Errorf("usage recorder: %w", err)
		}
		obs.rec = rec
		g.closers = append(g.closers, func() error {
			cctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace.D())
			defer cancel()
			return rec.Close(cctx)
		})
	}
	// The guard runs even with scanning disabled: classes a client
	// declares in x-fulcrum-data-class still apply.
	gd, err := newGuard(cfg)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	o.Guard = gd
	o.Observer = obs
	if !cfg.Metering.Disabled {
		g.closers = append(g.closers, startRetention(context.WithoutCancel(ctx), cfg, st, g.log),
			startAnalyze(context.WithoutCancel(ctx), st, analyzeEvery, g.log))
	}
	return nil
}
