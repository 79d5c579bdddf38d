package savings

import (
	"context"
	"time"
)

// EngineGauge is the serving engine's gauge of requests being processed
// that the ledger samples for its engine utilisation: vLLM's (summed over
// its models).
const EngineGauge = "vllm:num_requests_running"

// engine is the utilisation read from the serving engine's own metrics:
// each sample's state (any request running or not) is held until the next
// sample, and time between a sample and a failed read is not counted at
// all (unknown, not idle).
type engine struct {
	last     time.Time
	running  bool
	have     bool
	busy     time.Duration
	observed time.Duration
}

// EngineSample records one read of provider's engine gauge at time at:
// running is the number of requests the engine reports processing; ok is
// false when the read failed.
func (l *Ledger) EngineSample(provider string, at time.Time, running float64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.byName[provider]
	if e == nil {
		return
	}
	g := &e.engine
	if !ok {
		g.have = false
		return
	}
	if g.have && at.After(g.last) {
		d := at.Sub(g.last)
		g.observed += d
		if g.running {
			g.busy += d
		}
	}
	g.last, g.running, g.have = at, running > 0, true
}

// PollEngine samples provider's engine gauge with read every interval
// until ctx ends. read returns the gauge's value (router.ParseGauge over
// the engine's /metrics, in the gateway).
func (l *Ledger) PollEngine(ctx context.Context, provider string, interval time.Duration, read func(context.Context) (float64, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, interval)
		v, err := read(rctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		l.EngineSample(provider, l.now(), v, err == nil)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
