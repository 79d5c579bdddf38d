package limits

import "time"

// GCRA state is a "theoretical arrival time" (TAT) per limit, in
// microseconds since the Unix epoch. A request of cost c under a limit of L
// per minute moves the TAT c×(60s/L) forward from max(TAT, now); it is
// admitted when the new TAT is at most one window ahead of now. So a key
// with rpm 60 may burst 60 requests at once and then one a second: the
// bucket holds L and refills at L per minute. The Redis scripts implement
// the same steps (scripts.go); both are checked by one suite.

const windowUS = int64(time.Minute / time.Microsecond)

// gcraInc is how far cost moves the TAT under limit per minute (rounded up,
// so many small costs never admit more than the limit).
func gcraInc(limit, cost int64) int64 {
	if cost <= 0 {
		return 0
	}
	return (cost*windowUS + limit - 1) / limit
}

// gcraStep admits cost at now against tat. It returns the new TAT when
// admitted, else how long to wait (µs) and whether waiting can never help.
func gcraStep(tat, now, limit, cost int64) (newTAT int64, ok bool, retryUS int64, tooLarge bool) {
	if tat < now {
		tat = now
	}
	inc := gcraInc(limit, cost)
	if inc > windowUS {
		return tat, false, 0, true
	}
	n := tat + inc
	if n-now > windowUS {
		return tat, false, n - now - windowUS, false
	}
	return n, true, 0, false
}

// gcraWindow reports a limit whose TAT is delta µs ahead of now.
func gcraWindow(limit, delta int64) RateWindow {
	if delta < 0 {
		delta = 0
	}
	rem := (windowUS - delta) * limit / windowUS
	if rem < 0 {
		rem = 0
	}
	return RateWindow{Limit: limit, Remaining: rem, Reset: time.Duration(delta) * time.Microsecond}
}

func micros(t time.Time) int64 { return t.UnixMicro() }
