package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

const keyCols = `id, name, team, secret_hash, prefix, models, budget_nanos, period, rpm, tpm, created_us, revoked_us, expires_us,
	user_budget_nanos, user_period`

// CreateKey implements store.Store.
func (s *DB) CreateKey(ctx context.Context, k *store.Key) error {
	models := jsonList(k.Models)
	res, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO keys (`+keyCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT DO NOTHING`),
		k.ID, k.Name, k.Team, k.SecretHash, k.Prefix, models, k.BudgetNanos, string(k.Period), k.RPM, k.TPM,
		k.Created.UnixMicro(), nullMicros(k.RevokedAt), nullMicros(k.ExpiresAt), k.UserBudgetNanos, string(k.UserPeriod))
	if err != nil {
		return fmt.Errorf("store: create key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: create key: %w", err)
	} else if n == 0 {
		return fmt.Errorf("store: create key %q: %w", k.Name, store.ErrConflict)
	}
	return nil
}

// Key implements store.Store.
func (s *DB) Key(ctx context.Context, id string) (*store.Key, error) {
	return s.oneKey(ctx, "id", id)
}

// KeyByHash implements store.Store.
func (s *DB) KeyByHash(ctx context.Context, hash string) (*store.Key, error) {
	return s.oneKey(ctx, "secret_hash", hash)
}

func (s *DB) oneKey(ctx context.Context, col, v string) (*store.Key, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind("SELECT "+keyCols+" FROM keys WHERE "+col+" = ?"), v)
	if err != nil {
		return nil, fmt.Errorf("store: key: %w", err)
	}
	ks, err := scanKeys(rows)
	if err != nil {
		return nil, err
	}
	if len(ks) == 0 {
		return nil, store.ErrNotFound
	}
	return &ks[0], nil
}

// Keys implements store.Store.
func (s *DB) Keys(ctx context.Context) ([]store.Key, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+keyCols+" FROM keys ORDER BY created_us, id")
	if err != nil {
		return nil, fmt.Errorf("store: keys: %w", err)
	}
	return scanKeys(rows)
}

func scanKeys(rows *sql.Rows) ([]store.Key, error) {
	defer rows.Close()
	var out []store.Key
	for rows.Next() {
		var k store.Key
		var models, period, userPeriod string
		var created int64
		var revoked, expires sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Name, &k.Team, &k.SecretHash, &k.Prefix, &models, &k.BudgetNanos, &period,
			&k.RPM, &k.TPM, &created, &revoked, &expires, &k.UserBudgetNanos, &userPeriod); err != nil {
			return nil, fmt.Errorf("store: keys: %w", err)
		}
		var err error
		if k.Models, err = parseList(models); err != nil {
			return nil, fmt.Errorf("store: keys: models: %w", err)
		}
		k.Period = store.Period(period)
		k.UserPeriod = store.Period(userPeriod)
		k.Created = fromMicros(created)
		k.RevokedAt = timePtr(revoked)
		k.ExpiresAt = timePtr(expires)
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeKey implements store.Store.
func (s *DB) RevokeKey(ctx context.Context, id string, at time.Time) error {
	return s.updateKey(ctx, "revoke key", `UPDATE keys SET revoked_us = ? WHERE id = ?`, at.UnixMicro(), id)
}

// RotateKey implements store.Store.
func (s *DB) RotateKey(ctx context.Context, id, hash, prefix string) error {
	return s.updateKey(ctx, "rotate key", `UPDATE keys SET secret_hash = ?, prefix = ? WHERE id = ?`, hash, prefix, id)
}

func (s *DB) updateKey(ctx context.Context, what, q string, args ...any) error {
	res, err := s.db.ExecContext(ctx, s.rebind(q), args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", what, store.ErrNotFound)
	}
	return nil
}
