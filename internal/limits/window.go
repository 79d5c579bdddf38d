package limits

import (
	"fmt"
	"time"
)

// Rate modes (RatePolicy.Mode).
const (
	// ModeSliding keeps a log of the last minute's admissions per limit: a
	// request is admitted only when the admissions of the 60 s before it,
	// plus itself, fit the limit. No sliding 60 s window ever holds more
	// than the limit. It is the default.
	ModeSliding = "sliding"
	// ModeGCRA is the generic cell rate algorithm: one timestamp per limit,
	// a bucket of Burst percent of the limit that refills at the limit per
	// minute. Smoother and cheaper, but a sliding 60 s window may hold up
	// to limit + burst (less one request).
	ModeGCRA = "gcra"
)

// RatePolicy says how rate limits are counted. The zero value is
// ModeSliding.
type RatePolicy struct {
	// Mode is ModeSliding (default) or ModeGCRA.
	Mode string
	// BurstPercent is, for ModeGCRA, the bucket's capacity in percent of the
	// limit (1-100): how much may pass at once after a quiet minute.
	// Default 100. The admission rule: a request is admitted when the
	// theoretical arrival time after it is at most BurstPercent/100 × 60 s
	// ahead of now. A request costing more than the bucket is refused as
	// too large.
	BurstPercent int64
}

func (p RatePolicy) normal() (RatePolicy, error) {
	switch p.Mode {
	case "":
		p.Mode = ModeSliding
	case ModeSliding, ModeGCRA:
	default:
		return p, fmt.Errorf("limits: unknown rate mode %q (want %q or %q)", p.Mode, ModeSliding, ModeGCRA)
	}
	if p.BurstPercent == 0 {
		p.BurstPercent = 100
	}
	if p.BurstPercent < 1 || p.BurstPercent > 100 {
		return p, fmt.Errorf("limits: rate burst %d%% out of range 1-100", p.BurstPercent)
	}
	return p, nil
}

// entry is one admission (or correction) in a sliding log: its time (µs)
// and cost (1 for a request, tokens for tokens).
type entry struct{ t, cost int64 }

// slidingLog is one limit's admissions of the last window, oldest first.
// An entry counts while now < t + windowUS.
type slidingLog struct {
	es  []entry
	sum int64
}

// prune drops the entries that left the window ending at now.
func (l *slidingLog) prune(now int64) {
	i := 0
	for i < len(l.es) && l.es[i].t+windowUS <= now {
		l.sum -= l.es[i].cost
		i++
	}
	if i > 0 {
		// Reuse the backing array: shift rather than reslice forever.
		n := copy(l.es, l.es[i:])
		l.es = l.es[:n]
	}
	if len(l.es) == 0 {
		l.sum = 0
	}
}

// check reports whether cost fits limit at now (after prune), else how long
// to wait (µs) and whether waiting can never help.
func (l *slidingLog) check(now, limit, cost int64) (ok bool, retryUS int64, tooLarge bool) {
	if cost > limit {
		return false, 0, true
	}
	if cost <= 0 || satAdd(l.sum, cost) <= limit {
		return true, 0, false
	}
	// Wait until enough of the oldest entries have left the window.
	need := satAdd(l.sum, cost) - limit
	for _, e := range l.es {
		need -= e.cost
		if need <= 0 {
			return false, e.t + windowUS - now, false
		}
	}
	return false, windowUS, false // corrections pushed sum above what the log holds
}

// add books cost at now (negative cost takes back from the newest entries).
func (l *slidingLog) add(now, cost int64) {
	switch {
	case cost > 0:
		l.es = append(l.es, entry{now, cost})
		l.sum = satAdd(l.sum, cost)
	case cost < 0:
		take := -cost
		for take > 0 && len(l.es) > 0 {
			last := &l.es[len(l.es)-1]
			if last.cost > take {
				last.cost -= take
				l.sum -= take
				break
			}
			take -= last.cost
			l.sum -= last.cost
			l.es = l.es[:len(l.es)-1]
		}
	}
}

// window reports the log as x-ratelimit-* values: Reset is when the newest
// entry leaves the window (the limit is then back to full capacity).
func (l *slidingLog) window(now, limit int64) RateWindow {
	w := RateWindow{Limit: limit, Remaining: max(limit-l.sum, 0)}
	if n := len(l.es); n > 0 {
		w.Reset = time.Duration(l.es[n-1].t+windowUS-now) * time.Microsecond
	}
	return w
}

// satAdd adds without wrapping: money and token counts saturate at the
// int64 bounds instead of turning negative (a wrapped sum would admit
// everything).
func satAdd(a, b int64) int64 {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		if a > 0 {
			return 1<<63 - 1
		}
		return -1 << 63
	}
	return s
}
