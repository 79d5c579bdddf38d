package app

import (
	"context"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/admin"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/savings"
)

// wireSavings adds the live savings ledger: every attempt on a provider
// with a cost model is counted as it ends, the history before this process
// started is read from the store in the background, and the ledger is
// served as the fulcrum_savings_* metrics and GET /admin/savings.
func (g *Gateway) wireSavings(ctx context.Context, o *gateway.Options) {
	ps := savings.FromConfig(g.Config)
	if len(ps) == 0 {
		return
	}
	l := savings.NewLedger(ps, savings.LedgerOptions{})
	g.ledger = l
	g.collectors = append(g.collectors, l.Collector())
	o.Observer = ledgerObserver{Observer: o.Observer, l: l}
	if g.Store == nil || g.Config.Metering.Disabled {
		return
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
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
	}()
	g.closers = append(g.closers, func() error { cancel(); <-done; return nil })
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
			CostNanos: a.CostNanos, ReferenceNanos: a.ReferenceNanos}
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
