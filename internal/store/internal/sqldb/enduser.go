package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// EndUserTotals returns what end user user of key keyID spent in the
// period containing at, one row per hosting kind that has any (Scope is
// left empty: the limits package names the scope). It seeds end-user
// budgets, so it reads the raw usage rows: running totals are kept per key
// and team only, since end-user ids are as many as the clients choose. The
// read uses the (key_id, ts) index, so it scans the key's rows in the
// period; and it sees only rows the retention has kept (docs/keys.md).
func (s *DB) EndUserTotals(ctx context.Context, keyID, user string, p store.Period, at time.Time) ([]store.Total, error) {
	start := p.Start(at)
	to := int64(1<<63 - 1)
	switch p {
	case store.Daily:
		to = start.AddDate(0, 0, 1).UnixMicro()
	case store.Weekly:
		to = start.AddDate(0, 0, 7).UnixMicro()
	case store.Monthly:
		to = start.AddDate(0, 1, 0).UnixMicro()
	}
	q := s.rebind(`SELECT hosting, SUM(cost_nanos), SUM(input_tokens + output_tokens), COUNT(*)
		FROM usage WHERE key_id = ? AND ts >= ? AND ts < ? AND end_user = ?
		GROUP BY hosting ORDER BY hosting`)
	rows, err := s.db.QueryContext(ctx, q, keyID, start.UnixMicro(), to, user)
	if err != nil {
		return nil, fmt.Errorf("store: end-user totals: %w", err)
	}
	defer rows.Close()
	var out []store.Total
	for rows.Next() {
		t := store.Total{Period: p, PeriodStart: start}
		if err := rows.Scan(&t.Hosting, &t.SpentNanos, &t.Tokens, &t.Requests); err != nil {
			return nil, fmt.Errorf("store: end-user totals: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
