package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

var _ store.Busiest = (*DB)(nil)

// Busiest implements store.Busiest: one range scan of the rollups' primary
// key (grain, bucket, ...), summed per bucket. Over 30 days that is 43,200
// minute buckets times the combinations active in each, whatever the
// request rate.
func (s *DB) Busiest(ctx context.Context, grain string, from, to time.Time, skipModelPrefix string) (int64, error) {
	if grain != store.GrainMinute && grain != store.GrainHour {
		return 0, fmt.Errorf("store: busiest: grain %q (want %q or %q)", grain, store.GrainMinute, store.GrainHour)
	}
	q := `SELECT CAST(MAX(n) AS BIGINT) FROM (SELECT SUM(requests) AS n FROM usage_rollup WHERE grain = ? AND bucket >= ?`
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
	q += ` GROUP BY bucket) AS b`
	var n sql.NullInt64
	if err := s.db.QueryRowContext(ctx, s.rebind(q), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: busiest: %w", err)
	}
	return n.Int64, nil
}
