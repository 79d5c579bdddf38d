package sqldb

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/jsonw"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

const usageCols = `ts, request_id, attempt, key_id, team, model, provider, upstream_model, hosting,
	status, latency_ms, ttft_ms, input_tokens, output_tokens, cached_tokens, cache_write_tokens,
	reasoning_tokens, cost_nanos, reference_cost_nanos, estimated, data_classes, policy_action, error_code,
	tags, end_user`

const usageNCols = 25

// usageWhere builds the WHERE clause of a usage filter. tsCol is the time
// column (ts on raw rows, bucket in the rollups); user is what the end-user
// filter compares: end_user, or userExpr (the name the attribution rollups
// give the row) in summaries of raw rows under a cap. Tag filters read the
// tags column as grouping by tag does (TagExpr), so that a filtered summary
// is a group of the grouped one.
func (s *DB) usageWhere(f store.UsageFilter, tsCol, user string) (string, []any, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) { conds = append(conds, cond); args = append(args, v) }
	if !f.From.IsZero() {
		add(tsCol+" >= ?", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		add(tsCol+" < ?", f.To.UnixMicro())
	}
	for _, c := range []struct{ col, v string }{
		{"key_id", f.KeyID}, {"team", f.Team}, {"model", f.Model}, {"provider", f.Provider},
		{"hosting", f.Hosting}, {"request_id", f.RequestID},
	} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if f.EndUser != "" {
		if user != "end_user" && f.EndUser != store.OtherUser {
			// Only the user's own rows can be named so: the plain
			// comparison spares the others userExpr's lookup.
			add("end_user = ?", f.EndUser)
		}
		add(user+" = ?", f.EndUser)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Tags)) {
		if !store.ValidTagKey(k) {
			return "", nil, fmt.Errorf("invalid tag name %q", k)
		}
		add(fmt.Sprintf(s.d.TagExpr, k)+" = ?", f.Tags[k]) // k has no quote (ValidTagKey)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// Usage implements store.Store.
func (s *DB) Usage(ctx context.Context, f store.UsageFilter) ([]store.UsageRecord, error) {
	where, args, err := s.usageWhere(f, "ts", "end_user")
	if err != nil {
		return nil, fmt.Errorf("store: usage: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	order := " ORDER BY ts, id"
	if f.Newest {
		order = " ORDER BY ts DESC, id DESC"
	}
	q := "SELECT " + usageCols + " FROM usage" + where + order + " LIMIT " + fmt.Sprint(limit)
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: usage: %w", err)
	}
	defer rows.Close()
	var out []store.UsageRecord
	for rows.Next() {
		var r store.UsageRecord
		var ts int64
		var est int
		var classes, tags string
		if err := rows.Scan(&ts, &r.RequestID, &r.Attempt, &r.KeyID, &r.Team, &r.Model, &r.Provider,
			&r.UpstreamModel, &r.Hosting, &r.Status, &r.LatencyMS, &r.TTFTMS, &r.InputTokens, &r.OutputTokens,
			&r.CachedTokens, &r.CacheWriteTokens, &r.ReasoningTokens, &r.CostNanos, &r.ReferenceCostNanos,
			&est, &classes, &r.PolicyAction, &r.ErrorCode, &tags, &r.EndUser); err != nil {
			return nil, fmt.Errorf("store: usage: %w", err)
		}
		r.Time = fromMicros(ts)
		r.Estimated = est != 0
		if r.DataClasses, err = parseList(classes); err != nil {
			return nil, fmt.Errorf("store: usage: data_classes: %w", err)
		}
		if tags != "" {
			if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
				return nil, fmt.Errorf("store: usage: tags: %w", err)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// rawOnly reports whether a summary of f by by reads raw rows only: a
// request's attempts, f.Raw, and by (or filtered to) end user where the
// attribution rollups name none (as far as raw rows are kept).
func (s *DB) rawOnly(f store.UsageFilter, by []store.GroupBy) bool {
	return f.RequestID != "" || f.Raw || ((f.EndUser != "" || slices.Contains(by, store.ByUser)) && s.endUsersPerDay() == 0)
}

// widened returns the range a summary of f reads from the rollups: an
// edge whose raw rows were pruned widens to the hour that holds it (the
// hour's rollup is all that is left of them), and to the day where the
// hourly rollups were pruned too: read to the minute, that edge's partial
// hour (or day) would be silently missing. Both edges widen outwards, so
// the range holds at least what was asked for. The end edge reads its
// day's whole hours before it from hourly rows, so it widens to the day
// when any of them is gone, even if it is not; an open end (now) too
// (the day's rollup then holds nothing after now). A zero From is the
// Unix epoch.
func (s *DB) widened(ctx context.Context, f store.UsageFilter) (from, to time.Time, err error) {
	mark, err := s.mark(ctx, store.KindUsage)
	if err != nil {
		return from, to, err
	}
	hourMark, err := s.mark(ctx, store.KindRollupHourly)
	if err != nil {
		return from, to, err
	}
	widen := func(t time.Time, up bool) time.Time {
		for _, w := range []struct {
			mark time.Time
			unit time.Duration
		}{{mark, time.Hour}, {hourMark, 24 * time.Hour}} {
			if start := t.Truncate(w.unit); up && start.Before(w.mark) && !start.Equal(t) {
				t = start.Add(w.unit)
			} else if !up && t.Before(w.mark) {
				t = start
			}
		}
		return t
	}
	from, to = f.From, f.To
	if from.IsZero() {
		from = time.Unix(0, 0).UTC()
	}
	if to.IsZero() {
		to = s.now()
	}
	return widen(from, false), widen(to, true), nil
}

var _ store.Widener = (*DB)(nil)

// CountedRange implements store.Widener.
func (s *DB) CountedRange(ctx context.Context, f store.UsageFilter, by []store.GroupBy) (from, to time.Time, err error) {
	if s.rawOnly(f, by) {
		return f.From, f.To, nil
	}
	if from, to, err = s.widened(ctx, f); err != nil {
		return from, to, fmt.Errorf("store: counted range: %w", err)
	}
	if f.From.IsZero() {
		from = time.Time{}
	}
	if f.To.IsZero() {
		to = time.Time{}
	}
	return from, to, nil
}

// UsageSummary implements store.Store.
//
// Whole days, hours and minutes of the range are read from the rollups,
// only the partial minutes at its edges from raw rows (partial hours where
// the minute rollups were pruned); a range reaching before the
// raw rows' retention is widened to whole hours there (the raw rows are
// gone, their hour's rollup is not). The parts are added up here.
//
// Summaries by tag (grouped or filtered) read their whole hours and days
// from the attribution rollups and their edges from the main rollups'
// seconds and minutes, which carry the tags (store.RollupKey), as far as
// those were written with tags (the rollup_tags mark). Summaries by end
// user read whole hours and days from the attribution rollups and the
// edges from raw rows: second and minute rows by end user would add about
// a row per record to every commit.
func (s *DB) UsageSummary(ctx context.Context, f store.UsageFilter, by []store.GroupBy) ([]store.UsageGroup, error) {
	for _, g := range by {
		if !store.ValidGroupBy(g) {
			return nil, fmt.Errorf("store: usage summary: unknown group %q", g)
		}
	}
	for k := range f.Tags {
		if !store.ValidTagKey(k) {
			return nil, fmt.Errorf("store: usage summary: invalid tag name %q", k)
		}
	}
	if slices.Contains(by, store.ByAction) || slices.Contains(by, store.ByClasses) {
		// The attribution rollups, which summaries by tag and end user
		// read, keep neither (a row per action and class set too would
		// multiply them).
		if len(f.Tags) > 0 || f.EndUser != "" || slices.ContainsFunc(by, store.GroupBy.Attribution) {
			return nil, fmt.Errorf("store: usage summary: action and classes cannot be combined with a tag or the end user")
		}
	}
	if s.rawOnly(f, by) {
		return s.summary(ctx, "", f, by)
	}
	// Grouped or filtered by tag or end user (where the rollups name end
	// users): the attribution rollups, which have hours and days only.
	attr, users := len(f.Tags) > 0 || f.EndUser != "", f.EndUser != ""
	for _, g := range by {
		attr = attr || g.Attribution()
		users = users || g == store.ByUser
	}
	from, to, err := s.widened(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	open := f.To.IsZero()
	minuteMark, err := s.mark(ctx, store.KindRollupMinute)
	if err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	// Second rollups, for edges from secFrom on: kept an hour by the
	// writers, and only since the migration that made them.
	secFrom, err := s.mark(ctx, store.KindRollupSecond)
	if err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	if recent := s.now().Add(-store.SecondRollupsUsable); secFrom.Before(recent) {
		secFrom = recent
	}
	if attr && !users {
		// By tag: seconds and minutes only where they carry tags.
		tagsFrom, err := s.mark(ctx, store.KindRollupTags)
		if err != nil {
			return nil, fmt.Errorf("store: usage summary: %w", err)
		}
		minuteMark, secFrom = laterOf(minuteMark, tagsFrom), laterOf(secFrom, tagsFrom)
	}
	type part struct {
		grain    string // "" for raw rows
		from, to time.Time
		open     bool
	}
	var parts []part
	// sub covers [a, b), less than a minute: whole seconds from the
	// second rollups where they exist, the rest from raw rows.
	sub := func(a, b time.Time, open bool) {
		s1, s2 := ceilTo(a, time.Second), b.Truncate(time.Second)
		if a.Before(secFrom) || !s1.Before(s2) {
			parts = append(parts, part{"", a, b, open})
			return
		}
		parts = append(parts, part{"", a, s1, false}, part{store.GrainSecond, s1, s2, false}, part{"", s2, b, open})
	}
	// edge covers [a, b), less than an hour: whole minutes from the minute
	// rollups where they exist, the rest as sub does.
	edge := func(a, b time.Time, open bool) {
		m1, m2 := ceilTo(a, time.Minute), b.Truncate(time.Minute)
		if users {
			parts = append(parts, part{"", a, b, open})
			return
		}
		if a.Before(minuteMark) || !m1.Before(m2) {
			if b.Sub(a) < time.Minute {
				sub(a, b, open)
			} else {
				parts = append(parts, part{"", a, b, open})
			}
			return
		}
		sub(a, m1, false)
		parts = append(parts, part{store.GrainMinute, m1, m2, false})
		sub(m2, b, open)
	}
	h1, h2 := ceilTo(from, time.Hour), to.Truncate(time.Hour)
	if !h1.Before(h2) {
		edge(from, to, open)
	} else {
		edge(from, h1, false)
		edge(h2, to, open)
		d1, d2 := ceilTo(h1, 24*time.Hour), h2.Truncate(24*time.Hour)
		if d1.Before(d2) {
			parts = append(parts, part{store.GrainHour, h1, d1, false}, part{store.GrainDay, d1, d2, false},
				part{store.GrainHour, d2, h2, false})
		} else {
			parts = append(parts, part{store.GrainHour, h1, h2, false})
		}
	}
	merged := map[string]*store.UsageGroup{}
	var order []string
	for _, p := range parts {
		if !p.open && !p.from.Before(p.to) {
			continue
		}
		pf := f
		pf.From, pf.To = p.from, p.to
		if p.open {
			pf.To = time.Time{}
		}
		grain := p.grain
		if attr && (grain == store.GrainHour || grain == store.GrainDay) {
			grain = "attr:" + grain
		}
		gs, err := s.summary(ctx, grain, pf, by)
		if err != nil {
			return nil, err
		}
		for i := range gs {
			k := strings.Join(gs[i].Keys, "\x00")
			if m := merged[k]; m != nil {
				m.Add(&gs[i])
				continue
			}
			g := store.UsageGroup{Keys: gs[i].Keys}
			g.Add(&gs[i])
			merged[k] = &g
			order = append(order, k)
		}
	}
	sort.Strings(order)
	out := make([]store.UsageGroup, 0, len(order))
	for _, k := range order {
		out = append(out, *merged[k])
	}
	return out, nil
}

func laterOf(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

func ceilTo(t time.Time, d time.Duration) time.Time {
	if c := t.Truncate(d); c.Equal(t) {
		return c
	} else {
		return c.Add(d)
	}
}

// summary aggregates one part of a range: raw rows (grain "") or rollups.
// Raw rows are grouped by latency bucket too (one CASE a row, not one per
// bucket), and folded here; a raw part within one UTC day gets its day as
// a constant rather than formatting every row's time.
// grain "attr:h" or "attr:d" reads the attribution rollups; tags can be
// read from the main rollups' seconds and minutes only (their hours and
// days have none), end users from neither.
func (s *DB) summary(ctx context.Context, grain string, f store.UsageFilter, by []store.GroupBy) ([]store.UsageGroup, error) {
	table, tsCol := "usage", "ts"
	if g, ok := strings.CutPrefix(grain, "attr:"); ok {
		table, tsCol, grain = "usage_rollup_attr", "bucket", g
	} else if grain != "" {
		table, tsCol = "usage_rollup", "bucket"
	}
	var cols []string
	for _, g := range by {
		var c string
		switch g {
		case store.ByKey:
			c = "key_id"
		case store.ByTeam:
			c = "team"
		case store.ByModel:
			c = "model"
		case store.ByProvider:
			c = "provider"
		case store.ByHosting:
			c = "hosting"
		case store.ByAction:
			c = "policy_action"
		case store.ByClasses:
			c = "data_classes" // a JSON list; joined with commas below
		case store.ByUser:
			c = "end_user"
			if grain == "" && s.endUsersPerDay() > 0 {
				c = userExpr // named as the rollups name it
			}
		case store.ByDay:
			if day := oneDay(f.From, f.To); day != "" {
				c = "'" + day + "'"
			} else {
				c = strings.ReplaceAll(s.d.DayExpr, "ts /", tsCol+" /")
			}
		default:
			// A tag: its key is a validated name (ValidTagKey: no quote).
			k, _ := g.Tag()
			c = fmt.Sprintf(s.d.TagExpr, k)
		}
		cols = append(cols, c)
	}
	user := "end_user"
	if grain == "" && s.endUsersPerDay() > 0 {
		user = userExpr // named as the rollups name it
	}
	if table == "usage_rollup" {
		tags := len(f.Tags) > 0
		for _, g := range by {
			tags = tags || g.Attribution()
		}
		if f.EndUser != "" || (tags && grain != store.GrainSecond && grain != store.GrainMinute) {
			// UsageSummary reads the attribution rollups for these.
			return nil, fmt.Errorf("store: usage summary: the rollups' %q rows have no tags or end users", grain)
		}
	}
	where, args, err := s.usageWhere(f, tsCol, user)
	if err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	if grain != "" {
		if where == "" {
			where = " WHERE grain = ?"
		} else {
			where += " AND grain = ?"
		}
		args = append(args, grain)
	}
	var sums string
	group := make([]string, 0, len(cols)+1)
	for i := range cols {
		group = append(group, fmt.Sprint(i+1))
	}
	order := strings.Join(group, ", ")
	if grain == "" {
		lb := "CASE"
		for i, hi := range store.LatencyBoundsMS {
			lb += fmt.Sprintf(" WHEN latency_ms <= %d THEN %d", hi, i)
		}
		lb += fmt.Sprintf(" ELSE %d END", len(store.LatencyBoundsMS))
		sums = lb + `, COUNT(*), COALESCE(SUM(input_tokens),0), COALESCE(SUM(output_tokens),0),
		COALESCE(SUM(cached_tokens),0), COALESCE(SUM(reasoning_tokens),0), COALESCE(SUM(cost_nanos),0),
		COALESCE(SUM(reference_cost_nanos),0), COALESCE(SUM(estimated),0),
		COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END),0), COALESCE(SUM(latency_ms),0)`
		group = append(group, fmt.Sprint(len(cols)+1))
	} else {
		sums = `COALESCE(SUM(requests),0), COALESCE(SUM(input_tokens),0), COALESCE(SUM(output_tokens),0),
		COALESCE(SUM(cached_tokens),0), COALESCE(SUM(reasoning_tokens),0), COALESCE(SUM(cost_nanos),0),
		COALESCE(SUM(reference_cost_nanos),0), COALESCE(SUM(estimated),0), COALESCE(SUM(errors),0),
		COALESCE(SUM(latency_ms_sum),0)`
		for i := range store.LatencyBuckets {
			sums += fmt.Sprintf(", COALESCE(SUM(lat_%d),0)", i)
		}
	}
	sel := strings.Join(append(append([]string{}, cols...), ""), ", ")
	q := "SELECT " + sel + sums + " FROM " + table + where
	if len(group) > 0 {
		q += " GROUP BY " + strings.Join(group, ", ")
	}
	if order != "" {
		q += " ORDER BY " + order
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	defer rows.Close()
	var out []store.UsageGroup
	for rows.Next() {
		g := store.UsageGroup{Keys: make([]string, len(cols))}
		dest := make([]any, 0, len(cols)+11+store.LatencyBuckets)
		for i := range g.Keys {
			dest = append(dest, &g.Keys[i])
		}
		var bucket int
		if grain == "" {
			dest = append(dest, &bucket)
		}
		dest = append(dest, &g.Requests, &g.InputTokens, &g.OutputTokens, &g.CachedTokens, &g.ReasoningTokens,
			&g.CostNanos, &g.ReferenceCostNanos, &g.Estimated, &g.Errors, &g.LatencyMSSum)
		if grain != "" {
			for i := range g.Latency {
				dest = append(dest, &g.Latency[i])
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: usage summary: %w", err)
		}
		if g.Requests == 0 {
			continue // no rows: the aggregate of nothing
		}
		if grain == "" {
			g.Latency[bucket] = g.Requests
		}
		for i, d := range by {
			if d == store.ByClasses {
				g.Keys[i] = classesKey(g.Keys[i])
			}
		}
		if n := len(out); n > 0 && equalKeys(out[n-1].Keys, g.Keys) {
			out[n-1].Add(&g)
			continue
		}
		var first store.UsageGroup
		first.Keys = g.Keys
		first.Add(&g)
		out = append(out, first)
	}
	return out, rows.Err()
}

// oneDay returns the UTC day of [from, to) when the range lies within one
// day, else "".
func oneDay(from, to time.Time) string {
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		return ""
	}
	d := from.UTC().Format(time.DateOnly)
	if to.Add(-time.Microsecond).UTC().Format(time.DateOnly) != d {
		return ""
	}
	return d
}

func equalKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// jsonTags encodes the tags column: a JSON object with sorted keys, ""
// for none.
func jsonTags(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, tags[k])
	}
	return string(append(b, '}'))
}

// jsonList encodes a list column as a JSON array of strings.
func jsonList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	n := 2
	for _, s := range v {
		n += len(s) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return string(append(b, ']'))
}

// appendJSONString appends s as a JSON string (see jsonw.AppendString).
func appendJSONString(b []byte, s string) []byte { return jsonw.AppendString(b, s) }

// classesKey shows a data_classes column (a JSON list) as a group key:
// the classes joined with commas, "" for none.
func classesKey(s string) string {
	l, err := parseList(s)
	if err != nil {
		return s
	}
	return strings.Join(l, ",")
}

func parseList(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var v []string
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}
