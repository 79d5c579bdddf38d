package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

var _ store.Busiest = (*DB)(nil)

// Busiest implements store.Busiest: a range scan of the rollups' primary
// key (grain, bucket, ...), summed per bucket, so its cost is the
// buckets in range times the combinations active in each, whatever the
// request rate.
func (s *DB) Busiest(ctx context.Context, grain string, from, to time.Time, skipModelPrefix string, n int) ([]store.Bucket, error) {
	if grain != store.GrainMinute && grain != store.GrainHour && grain != store.GrainDay {
		return nil, fmt.Errorf("store: busiest: grain %q (want %q, %q or %q)", grain, store.GrainMinute, store.GrainHour, store.GrainDay)
	}
	q := `SELECT bucket, CAST(SUM(requests) AS BIGINT) AS n FROM usage_rollup WHERE grain = ? AND bucket >= ?`
	args := []any{grain, from.UnixMicro()}
	if !to.IsZero() {
		q += ` AND bucket < ?`
		args = append(args, to.UnixMicro())
	}
	if skipModelPrefix != "" {
		// substr, not LIKE: SQLite's LIKE ignores case, and the prefix
		// may hold % or _.
		q += ` AND substr(model, 1, ?) <> ?`
		args = append(args, len(skipModelPrefix), skipModelPrefix)
	}
	q += ` GROUP BY bucket ORDER BY n DESC, bucket LIMIT ?`
	args = append(args, max(n, 0))
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: busiest: %w", err)
	}
	defer rows.Close()
	var out []store.Bucket
	for rows.Next() {
		var us, c int64
		if err := rows.Scan(&us, &c); err != nil {
			return nil, fmt.Errorf("store: busiest: %w", err)
		}
		out = append(out, store.Bucket{Start: fromMicros(us), Attempts: c})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: busiest: %w", err)
	}
	return out, nil
}
