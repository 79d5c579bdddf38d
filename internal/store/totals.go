package store

import "time"

// Period is a budget period.
type Period string

// Periods. Day, week and month boundaries are in UTC; weeks start on Monday.
const (
	Daily   Period = "daily"
	Weekly  Period = "weekly"
	Monthly Period = "monthly"
	// AllTime never resets.
	AllTime Period = "total"
)

// Periods lists every period running totals are kept for.
var Periods = []Period{Daily, Weekly, Monthly, AllTime}

// ValidPeriod reports whether p is a known period.
func ValidPeriod(p Period) bool {
	switch p {
	case Daily, Weekly, Monthly, AllTime:
		return true
	}
	return false
}

// Start returns the start of the period containing t, in UTC. AllTime
// starts at the Unix epoch.
func (p Period) Start(t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	switch p {
	case Daily:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case Weekly:
		wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
		return time.Date(y, m, d-wd, 0, 0, 0, 0, time.UTC)
	case Monthly:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	default:
		return time.Unix(0, 0).UTC()
	}
}

// ScopeKey and ScopeTeam name the scopes running totals are kept for.
func ScopeKey(id string) string    { return "key:" + id }
func ScopeTeam(name string) string { return "team:" + name }

// Total is the spend of one scope in one period, for one hosting kind, so a
// budget can count proprietary spend apart from self-hosted spend.
type Total struct {
	Scope       string    `json:"scope"`
	Period      Period    `json:"period"`
	PeriodStart time.Time `json:"period_start"`
	Hosting     string    `json:"hosting"`
	SpentNanos  int64     `json:"spent_nanos"`
	Tokens      int64     `json:"tokens"`
	Requests    int64     `json:"requests"`
}

// TotalKey identifies a running-total row.
type TotalKey struct {
	Scope       string
	Period      Period
	PeriodStart time.Time
	Hosting     string
}

// TotalDelta is what a batch adds to one running total.
type TotalDelta struct {
	SpentNanos, Tokens, Requests int64
}

// AddTotals adds r to the running totals of its key and team, for every
// period, in d. Implementations call it for each newly inserted record and
// then upsert d in the same transaction.
func AddTotals(d map[TotalKey]TotalDelta, r *UsageRecord) {
	var scopes [2]string
	n := 0
	if r.KeyID != "" {
		scopes[n] = ScopeKey(r.KeyID)
		n++
	}
	if r.Team != "" {
		scopes[n] = ScopeTeam(r.Team)
		n++
	}
	for _, s := range scopes[:n] {
		for _, p := range Periods {
			k := TotalKey{Scope: s, Period: p, PeriodStart: p.Start(r.Time), Hosting: r.Hosting}
			v := d[k]
			v.SpentNanos += r.CostNanos
			v.Tokens += r.InputTokens + r.OutputTokens
			v.Requests++
			d[k] = v
		}
	}
}
