package savings

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// pageSize is how many raw records one query reads while measuring busy
// time.
var pageSize = 5000

// maxBusyRecords bounds the raw records Load reads for busy time (about
// five seconds of a core): past it, busy time is measured over the
// period's latest part that holds about that many records (BusyFrom says
// from where), and the shadow calls before it are told apart in the
// summary by their model ("shadow:<candidate>"). The ledger seeds itself
// with Load at every start: reading every record since the provider's
// first took hours of a core at 1,000 requests/s over a retention of
// months.
var maxBusyRecords int64 = 1_000_000

// shadowModelPrefix starts the model of a shadow call's usage record
// (internal/shadow). A judge call (attempt 0) has no such mark: before
// the part read record by record it stays in the client totals.
const shadowModelPrefix = "shadow:"

// Load reads from the usage records what provider served in [from, to).
// A zero from starts at the provider's first record; start is the period's
// start either way (zero, with ok false, when from is zero and the
// provider has no records before to).
//
// Totals come from the summary (which survives raw-record retention
// through the rollups); busy time is the union of the raw records'
// [time, time + latency) intervals, so where the raw records of the
// period's beginning were pruned (fewer raw records than the summary
// counts) it is measured from the first one left (Served.BusyFrom).
func Load(ctx context.Context, st store.Store, provider string, from, to time.Time) (s Served, start time.Time, ok bool, err error) {
	if from.IsZero() {
		first, err := st.Usage(ctx, store.UsageFilter{Provider: provider, To: to, Limit: 1})
		if err != nil {
			return s, start, false, fmt.Errorf("savings: %s: %w", provider, err)
		}
		if len(first) == 0 {
			return s, start, false, nil
		}
		from = first[0].Time
	}
	f := store.UsageFilter{Provider: provider, From: from, To: to}
	groups, err := st.UsageSummary(ctx, f, nil)
	if err != nil {
		return s, from, false, fmt.Errorf("savings: %s: %w", provider, err)
	}
	if len(groups) > 0 {
		g := groups[0]
		s.Requests, s.InputTokens, s.OutputTokens = g.Requests, g.InputTokens, g.OutputTokens
		s.RecordedNanos, s.ReferenceNanos = g.CostNanos, g.ReferenceCostNanos
	}
	cursor := from
	if s.Requests > maxBusyRecords {
		// The latest part of the period holding about maxBusyRecords,
		// at the period's average rate; its shadow calls are told apart
		// below, record by record, the earlier ones here.
		cursor = to.Add(-time.Duration(float64(to.Sub(from)) * float64(maxBusyRecords) / float64(s.Requests))).Truncate(time.Second)
		if cursor.Before(from) {
			cursor = from
		}
		early := store.UsageFilter{Provider: provider, From: from, To: cursor}
		byModel, err := st.UsageSummary(ctx, early, []store.GroupBy{store.ByModel})
		if err != nil {
			return s, from, false, fmt.Errorf("savings: %s: %w", provider, err)
		}
		for _, g := range byModel {
			if strings.HasPrefix(g.Keys[0], shadowModelPrefix) {
				s.EvaluationRequests += g.Requests
				s.Requests -= g.Requests
				s.InputTokens -= g.InputTokens
				s.OutputTokens -= g.OutputTokens
				s.RecordedNanos -= g.CostNanos
				s.ReferenceNanos -= g.ReferenceCostNanos
			}
		}
	}
	var (
		b        Busy
		raw      int64
		first    time.Time
		atCursor = map[string]bool{} // rows of the previous page's last instant
	)
	for {
		f.From, f.Limit = cursor, pageSize
		rows, err := st.Usage(ctx, f)
		if err != nil {
			return s, from, false, fmt.Errorf("savings: %s: busy: %w", provider, err)
		}
		for i := range rows {
			r := &rows[i]
			id := fmt.Sprintf("%s/%d", r.RequestID, r.Attempt)
			if r.Time.Equal(cursor) && atCursor[id] {
				continue // read on the previous page too
			}
			if raw == 0 {
				first = r.Time
			}
			raw++
			// Records are read oldest first, so nothing reaches back
			// further than the horizon.
			b.Add(r.Time, r.Time.Add(time.Duration(r.LatencyMS)*time.Millisecond))
			if r.Attempt <= 0 {
				// A shadow (attempt < 0) or judge (0) call: busy time
				// only, out of the client totals.
				s.EvaluationRequests++
				s.Requests--
				s.InputTokens -= r.InputTokens
				s.OutputTokens -= r.OutputTokens
				s.RecordedNanos -= r.CostNanos
				s.ReferenceNanos -= r.ReferenceCostNanos
			}
		}
		if len(rows) < pageSize {
			break
		}
		next := rows[len(rows)-1].Time
		if !next.After(cursor) {
			next = cursor.Add(time.Microsecond) // a page of one instant: step past it
		}
		if !next.Equal(cursor) {
			clear(atCursor)
		}
		for i := range rows {
			if rows[i].Time.Equal(next) {
				atCursor[fmt.Sprintf("%s/%d", rows[i].RequestID, rows[i].Attempt)] = true
			}
		}
		cursor = next
	}
	s.Busy = b.Total()
	switch {
	case raw >= s.Requests+s.EvaluationRequests:
		s.BusyFrom = from // every record is there
	case raw > 0:
		s.BusyFrom = first // the oldest raw records were pruned
	default:
		s.BusyFrom = to // none left: busy time unknown, utilisation 0
	}
	return s, from, true, nil
}
