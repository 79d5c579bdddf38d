package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/admin"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/savings"
)

// wireSavings adds the live savings ledger: every attempt on a provider
// with a cost model is counted as it ends, the history before this process
// started is read from the store in the background, the engine's own
// running-requests gauge is sampled where capacity.metrics_url is set, and
// the ledger is served as the fulcrum_savings_* metrics and GET
// /admin/savings.
func (g *Gateway) wireSavings(ctx context.Context, o *gateway.Options) {
	ps := savings.FromConfig(g.Config)
	if len(ps) == 0 {
		return
	}
	l := savings.NewLedger(ps, savings.LedgerOptions{})
	g.ledger = l
	g.collectors = append(g.collectors, l.Collector())
	o.Observer = ledgerObserver{Observer: o.Observer, l: l}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	g.closers = append(g.closers, func() error { cancel(); wg.Wait(); return nil })
	// Engine utilisation, for providers whose engine's metrics are read.
	for i := range g.Config.Providers {
		pc := &g.Config.Providers[i]
		if pc.Capacity == nil || pc.Capacity.MetricsURL == "" || pc.Cost == nil {
			continue
		}
		url, interval := pc.Capacity.MetricsURL, pc.Capacity.MetricsInterval.D()
		client := &http.Client{Timeout: max(interval, time.Second)}
		wg.Go(func() {
			l.PollEngine(sctx, pc.Name, interval, func(ctx context.Context) (float64, error) {
				return readGauge(ctx, client, url, savings.EngineGauge)
			})
		})
	}
	if g.Store == nil || g.Config.Metering.Disabled {
		return
	}
	wg.Go(func() {
		for _, p := range ps {
			s, from, ok, err := savings.Load(sctx, g.Store, p.Name, time.Time{}, l.Start())
			if err != nil {
				g.log.Warn("savings ledger: history not read; the ledger counts from this start", "provider", p.Name, "err", err)
				continue
			}
			if ok {
				l.Seed(p.Name, from, s)
			}
		}
	})
}

// readGauge reads one gauge from a Prometheus text endpoint.
func readGauge(ctx context.Context, client *http.Client, url, gauge string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("metrics: status %d", resp.StatusCode)
	}
	v, err := router.ParseGauge(bufio.NewScanner(io.LimitReader(resp.Body, 4<<20)), gauge)
	return float64(v), err
}

// adminLedger is the ledger for the admin API (a nil interface without one).
func (g *Gateway) adminLedger() admin.Ledger {
	if g.ledger == nil {
		return nil
	}
	return g.ledger
}

// ledgerObserver counts each attempt in the ledger, then hands it on.
type ledgerObserver struct {
	gateway.Observer
	l *savings.Ledger
}

func (o ledgerObserver) Attempt(a *gateway.Attempt) {
	if !a.Cached && a.Info != nil {
		la := savings.Attempt{Provider: a.Info.Name, Start: a.Time, Latency: a.Latency,
			CostNanos: a.CostNanos, ReferenceNanos: a.ReferenceNanos,
			// Shadow calls are attempts below zero, judges' attempt 0.
			Evaluation: a.N <= 0}
		if u := a.Usage; u != nil {
			la.Input, la.Output = u.InputTokens, u.OutputTokens
		}
		o.l.Observe(la)
	}
	if o.Observer != nil {
		o.Observer.Attempt(a)
	}
}

func (o ledgerObserver) Request(r *gateway.RequestLog) {
	if o.Observer != nil {
		o.Observer.Request(r)
	}
}
