package savings

import (
	"slices"
	"time"
)

// Busy measures the time at least one request was in flight: the length of
// the union of the requests' [start, end) intervals, so that a GPU serving
// eight requests at once for a minute was busy for a minute, not eight.
//
// Intervals may arrive in any order (attempts are reported when they end,
// a long one after shorter ones that started later). Intervals that ended
// more than Horizon before the latest end seen are settled (added to a
// total and forgotten), so memory stays bounded; an interval that arrives
// reaching back before the settled frontier is clipped to it, so nothing
// is counted twice (an attempt longer than Horizon may then be undercounted
// by its overlap with settled ones). Not safe for concurrent use.
type Busy struct {
	// Horizon is how long an ended interval stays open to merging.
	// Default 1h (longer than any upstream call's total timeout).
	Horizon time.Duration

	settled  time.Duration
	frontier time.Time // nothing before it is counted again
	latest   time.Time // the latest end seen
	open     []span    // disjoint, sorted by start, all ending after frontier
}

type span struct{ start, end time.Time }

// Add counts [start, end).
func (b *Busy) Add(start, end time.Time) {
	if !b.frontier.IsZero() && start.Before(b.frontier) {
		start = b.frontier
	}
	if !end.After(start) {
		return
	}
	// Insert, then merge the spans it touches.
	i, _ := slices.BinarySearchFunc(b.open, start, func(s span, t time.Time) int { return s.start.Compare(t) })
	b.open = slices.Insert(b.open, i, span{start, end})
	if i > 0 && !b.open[i-1].end.Before(start) {
		i-- // merge with the one before
	}
	j := i + 1
	for j < len(b.open) && !b.open[j].start.After(b.open[i].end) {
		if b.open[j].end.After(b.open[i].end) {
			b.open[i].end = b.open[j].end
		}
		j++
	}
	b.open = slices.Delete(b.open, i+1, j)
	if end.After(b.latest) {
		b.latest = end
	}
	b.settle()
}

func (b *Busy) settle() {
	h := b.Horizon
	if h <= 0 {
		h = time.Hour
	}
	cut := b.latest.Add(-h)
	n := 0
	for n < len(b.open) && !b.open[n].end.After(cut) {
		b.settled += b.open[n].end.Sub(b.open[n].start)
		b.frontier = b.open[n].end
		n++
	}
	b.open = slices.Delete(b.open, 0, n)
}

// Total is the busy time counted so far.
func (b *Busy) Total() time.Duration {
	t := b.settled
	for _, s := range b.open {
		t += s.end.Sub(s.start)
	}
	return t
}
