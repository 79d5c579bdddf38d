package loadgen

import (
	"math"
	"time"
)

// Timetable is the fixed schedule of an open-loop run: request i is due at
// Start + i/Rate seconds, whatever happened to earlier requests. Latency is
// measured from these times, not from when a request was actually sent, so
// a stalled target is charged for the requests it delayed (no coordinated
// omission).
//
// Not safe for concurrent use.
type Timetable struct {
	start time.Time
	rate  float64
	next  int64 // index of the first request not yet handed out
	total int64
}

// NewTimetable schedules floor(rate*d) requests from start; rate > 0.
func NewTimetable(start time.Time, rate float64, d time.Duration) *Timetable {
	total := int64(math.Floor(rate*d.Seconds() + 1e-9))
	return &Timetable{start: start, rate: rate, total: max(total, 0)}
}

// Len is the number of scheduled requests.
func (t *Timetable) Len() int64 { return t.total }

// At is the due time of request i. It is computed from i, not by adding
// intervals, so rounding does not drift.
func (t *Timetable) At(i int64) time.Time {
	return t.start.Add(time.Duration(math.Round(float64(i) * 1e9 / t.rate)))
}

// Next returns the due time of the next request not yet handed out, and
// false when every request has been.
func (t *Timetable) Next() (time.Time, bool) {
	if t.next >= t.total {
		return time.Time{}, false
	}
	return t.At(t.next), true
}

// Due appends to buf the due times of every request not yet handed out that
// is due at or before now, marks them handed out, and returns buf. After a
// late wake-up it returns the whole backlog at once, each with its own due
// time.
func (t *Timetable) Due(now time.Time, buf []time.Time) []time.Time {
	for t.next < t.total {
		at := t.At(t.next)
		if at.After(now) {
			break
		}
		buf = append(buf, at)
		t.next++
	}
	return buf
}
