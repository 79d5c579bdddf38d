package limits

import (
	"math/bits"
	"time"
)

// GCRA state is a "theoretical arrival time" (TAT) per limit, in
// microseconds since the Unix epoch. A request of cost c under a limit of L
// per minute moves the TAT c×(60s/L) forward from max(TAT, now); it is
// admitted when the new TAT is at most tau ahead of now, where tau is the
// burst: BurstPercent of the 60 s window. With the default burst of 100%, a
// key with rpm 60 may send 60 requests at once and then one a second. The
// Redis scripts implement the same steps (scripts.go); both are checked by
// one suite.

const windowUS = int64(time.Minute / time.Microsecond)

// gcraInc is how far cost moves the TAT under limit per minute (rounded up,
// so many small costs never admit more than the limit). A cost so large
// that the product would overflow saturates far beyond any window.
func gcraInc(limit, cost int64) int64 {
	if cost <= 0 {
		return 0
	}
	if cost > (1<<62)/windowUS {
		return 1 << 62
	}
	return (cost*windowUS + limit - 1) / limit
}

// gcraTau is the burst tolerance in µs.
func gcraTau(burstPercent int64) int64 { return windowUS * burstPercent / 100 }

// gcraStep admits cost at now against tat with tolerance tau. It returns the
// new TAT when admitted, else how long to wait (µs) and whether waiting can
// never help.
func gcraStep(tat, now, limit, cost, tau int64) (newTAT int64, ok bool, retryUS int64, tooLarge bool) {
	if tat < now {
		tat = now
	}
	inc := gcraInc(limit, cost)
	if inc > tau {
		return tat, false, 0, true
	}
	n := tat + inc
	if n-now > tau {
		return tat, false, n - now - tau, false
	}
	return n, true, 0, false
}

// gcraWindow reports a limit whose TAT is delta µs ahead of now.
func gcraWindow(limit, delta, tau int64) RateWindow {
	if delta < 0 {
		delta = 0
	}
	var rem int64
	if tau > delta {
		rem = mulDiv(tau-delta, limit, windowUS)
	}
	return RateWindow{Limit: limit, Remaining: rem, Reset: time.Duration(delta) * time.Microsecond}
}

func micros(t time.Time) int64 { return t.UnixMicro() }

// mulDiv is a×b/c for non-negative a, b and positive c, in 128 bits,
// saturating at the int64 maximum.
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	if q > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(q)
}
