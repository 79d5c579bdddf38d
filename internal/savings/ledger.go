package savings

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LedgerOptions configure NewLedger. Zero fields take the defaults noted.
type LedgerOptions struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Horizon bounds how late an attempt may be reported and still merge
	// with the busy time of those reported before it (see Busy). Default 1h.
	Horizon time.Duration
}

// Ledger is the live savings ledger of the gateway: it is told of every
// upstream attempt as it ends (Observe) and, once, of the history before
// it started (Seed, from the store), and reports each provider's Line to
// the moment it is asked. Only the providers it was built with are kept,
// so the metrics' provider label is bounded by the config.
//
// Safe for concurrent use.
type Ledger struct {
	now   func() time.Time
	start time.Time

	mu     sync.Mutex // guards the entries' fields
	order  []string
	byName map[string]*entry
}

type entry struct {
	p    Provider
	live Served // since the ledger's start; Busy unused (busy has it)
	busy Busy
	// seed is the history before the ledger's start, from the store.
	seed     Served
	seedFrom time.Time
	seeded   bool
	// engine is sampled from the serving engine's metrics, when configured.
	engine engine
}

// NewLedger returns a ledger of the given providers, starting now.
func NewLedger(providers []Provider, o LedgerOptions) *Ledger {
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &Ledger{now: o.Now, start: o.Now(), byName: map[string]*entry{}}
	for _, p := range providers {
		if _, dup := l.byName[p.Name]; dup {
			continue
		}
		l.order = append(l.order, p.Name)
		l.byName[p.Name] = &entry{p: p, busy: Busy{Horizon: o.Horizon}}
	}
	return l
}

// Start is when the ledger started counting live attempts; Seed covers
// the time before it.
func (l *Ledger) Start() time.Time { return l.start }

// Providers lists the providers the ledger keeps, in config order.
func (l *Ledger) Providers() []Provider {
	out := make([]Provider, 0, len(l.order))
	for _, n := range l.order {
		out = append(out, l.byName[n].p)
	}
	return out
}

// Attempt is one upstream attempt as the ledger needs it.
type Attempt struct {
	Provider string
	// Start and Latency place the attempt in time (busy time).
	Start   time.Time
	Latency time.Duration
	// Input and Output are its tokens (0 for a failed attempt).
	Input, Output int64
	// CostNanos is its recorded cost, ReferenceNanos what the reference
	// model would have charged.
	CostNanos, ReferenceNanos int64
	// Evaluation marks a call made to evaluate, not to answer a client
	// (a shadow candidate's or a judge's): it kept the GPUs busy, but its
	// tokens replaced no API call, so it adds busy time only.
	Evaluation bool
}

// Observe counts an attempt that has ended. Attempts on providers the
// ledger does not keep are ignored.
func (l *Ledger) Observe(a Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.byName[a.Provider]
	if e == nil {
		return
	}
	start := a.Start
	if start.Before(l.start) {
		start = l.start // before the ledger started: the seed covers that
	}
	e.busy.Add(start, a.Start.Add(a.Latency))
	if a.Evaluation {
		e.live.EvaluationRequests++
		return
	}
	e.live.Requests++
	e.live.InputTokens += a.Input
	e.live.OutputTokens += a.Output
	e.live.RecordedNanos += a.CostNanos
	e.live.ReferenceNanos += a.ReferenceNanos
}

// Seed adds the history of provider before the ledger's start: what it
// served from from (its first record, or the start of the rent) up to
// Start. Calling it again replaces the previous seed.
func (l *Ledger) Seed(provider string, from time.Time, s Served) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.byName[provider]; e != nil {
		e.seed, e.seedFrom, e.seeded = s, from, true
	}
}

// Lines is the ledger of every provider from the start of its history to
// now, in config order.
func (l *Ledger) Lines() []Line {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Line, 0, len(l.order))
	for _, n := range l.order {
		e := l.byName[n]
		from := l.start
		s := e.live
		s.Busy = e.busy.Total()
		s.BusyFrom = l.start
		if e.seeded && e.seedFrom.Before(l.start) {
			from = e.seedFrom
			s.Requests += e.seed.Requests
			s.EvaluationRequests += e.seed.EvaluationRequests
			s.InputTokens += e.seed.InputTokens
			s.OutputTokens += e.seed.OutputTokens
			s.RecordedNanos += e.seed.RecordedNanos
			s.ReferenceNanos += e.seed.ReferenceNanos
			s.Busy += e.seed.Busy
			s.BusyFrom = e.seed.BusyFrom
			if s.BusyFrom.IsZero() {
				s.BusyFrom = from
			}
		}
		ln := Compute(e.p, from, now, s)
		if g := e.engine; g.observed > 0 {
			u := float64(g.busy) / float64(g.observed)
			ln.EngineUtilisation, ln.EngineObservedSeconds = &u, g.observed.Seconds()
		}
		out = append(out, ln)
	}
	return out
}

// The ledger's Prometheus series. The provider label takes only the
// names of configured self-hosted providers.
var (
	descGPUHours = prometheus.NewDesc("fulcrum_savings_gpu_hours", "GPU hours paid for since the start of the ledger.", []string{"provider"}, nil)
	descPaid     = prometheus.NewDesc("fulcrum_savings_paid_usd", "What the self-hosted provider cost since the start of the ledger: rent (GPU hours × hourly rate), or the per-token price.", []string{"provider"}, nil)
	descUtil     = prometheus.NewDesc("fulcrum_savings_gpu_utilisation_ratio", "Share of the time at least one request was in flight on the provider.", []string{"provider"}, nil)
	descTokens   = prometheus.NewDesc("fulcrum_savings_tokens", "Tokens served by the self-hosted provider since the start of the ledger, by type (input, output).", []string{"provider", "type"}, nil)
	descPerM     = prometheus.NewDesc("fulcrum_savings_usd_per_million_tokens", "Effective price: what was paid per million tokens served (input and output).", []string{"provider"}, nil)
	descRef      = prometheus.NewDesc("fulcrum_savings_reference_usd", "What the same tokens would have cost on the provider's reference API model.", []string{"provider"}, nil)
	descSaved    = prometheus.NewDesc("fulcrum_savings_usd", "Reference cost minus what was paid (negative: self-hosting cost more).", []string{"provider"}, nil)
	descEngine   = prometheus.NewDesc("fulcrum_savings_engine_busy_ratio", "Share of the sampled time the serving engine reported requests running (vllm:num_requests_running > 0), since the gateway started; absent without capacity.metrics_url.", []string{"provider"}, nil)
	descPayback  = prometheus.NewDesc("fulcrum_savings_payback_remaining_months", "Months left to pay back the configured set-up cost at the current savings rate (absent when there is no set-up cost or savings are not positive).", []string{"provider"}, nil)
)

// Collector returns the ledger's Prometheus collector.
func (l *Ledger) Collector() prometheus.Collector { return collector{l} }

type collector struct{ l *Ledger }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGPUHours, descPaid, descUtil, descTokens, descPerM, descRef, descSaved, descPayback, descEngine} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, ln := range c.l.Lines() {
		p := ln.Provider
		g := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{p}, labels...)...)
		}
		g(descGPUHours, ln.GPUHours)
		g(descPaid, float64(ln.PaidNanos)/1e9)
		g(descUtil, ln.Utilisation)
		g(descTokens, float64(ln.InputTokens), "input")
		g(descTokens, float64(ln.OutputTokens), "output")
		g(descPerM, float64(ln.PerMillionNanos)/1e9)
		g(descRef, float64(ln.ReferenceNanos)/1e9)
		g(descSaved, float64(ln.SavingsNanos)/1e9)
		if ln.EngineUtilisation != nil {
			g(descEngine, *ln.EngineUtilisation)
		}
		if ln.PaybackRemainingMonths != nil {
			g(descPayback, *ln.PaybackRemainingMonths)
		}
	}
}
