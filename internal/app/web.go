package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/advise"
	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/shadow"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/web"
)

// wireUI adds the dashboard under /ui.
func (g *Gateway) wireUI(o *gateway.Options, rt *router.Router) error {
	cfg := g.Config
	if cfg.UI.Disabled || g.Store == nil {
		return nil
	}
	wo := web.Options{
		MasterKey:  cfg.Server.MasterKey,
		Store:      g.Store,
		Keys:       g.keys,
		Health:     rt.Health,
		Metrics:    o.Metrics.Registry,
		ReportsDir: cfg.UI.ReportsDir,
		Logger:     g.log,
		// The policy page checks the latest rows when it opens, in well
		// under a second at any size (about 200,000 rows a second); the
		// whole chain is `fulcrum audit verify`'s.
		VerifyAudit: func(ctx context.Context) (int, int64, bool, error) {
			res, whole, err := audit.VerifyTail(ctx, g.Store, dashboardVerifyRows)
			var bad int64
			if res.Bad != nil {
				bad = res.Bad.Seq
			}
			return res.Rows, bad, whole, err
		},
	}
	if g.gate != nil {
		wo.Budgets = g.gate
	}
	if path := cfg.UI.AdviseProfile; path != "" {
		p, err := advise.LoadProfile(path)
		if err != nil {
			return fmt.Errorf("ui.advise_profile: %w", err)
		}
		price, err := PriceFunc(cfg)
		if err != nil {
			return err
		}
		wo.Advise = func(ctx context.Context) (*advise.Report, error) {
			return advise.Run(ctx, advise.Options{Profile: p, Price: price})
		}
	}
	if ss, ok := g.Store.(store.Shadows); ok {
		st := g.Store
		wo.Shadow = func(ctx context.Context) (*shadow.Report, error) {
			to := time.Now().UTC()
			from := to.AddDate(0, 0, -30)
			rows, err := ss.ShadowResults(ctx, store.ShadowFilter{From: from, To: to})
			if err != nil {
				return nil, err
			}
			return shadow.Summarise(rows, from, to, shadow.UsageVolume(ctx, st)), nil
		}
	}
	if wo.Keys == nil {
		return errors.New("ui: keys service not wired")
	}
	o.UI = web.New(wo)
	return nil
}

// dashboardVerifyRows is how many of the latest audit rows the
// dashboard's policy page verifies when it opens.
const dashboardVerifyRows = 100000
