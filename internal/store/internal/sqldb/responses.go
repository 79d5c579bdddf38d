package sqldb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

var _ store.Responses = (*DB)(nil)

// PutResponse implements store.Responses. The response and its item ids
// go in one transaction: an id is never owned without its response.
func (s *DB) PutResponse(ctx context.Context, r *store.StoredResponse) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: put response: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO responses (id, owner, created_us, model, items, output, response, policies, declared)
		VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`),
		r.ID, r.Owner, r.Created.UnixMicro(), r.Model, string(r.Items), string(r.Output), string(r.Response), names(r.Policies), names(r.Declared))
	if err != nil {
		return fmt.Errorf("store: put response: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: put response: %w", err)
	} else if n == 0 {
		return fmt.Errorf("store: put response %q: %w", r.ID, store.ErrConflict)
	}
	for items := r.ItemIDs; len(items) > 0; {
		batch := items[:min(len(items), itemBatch)]
		items = items[len(batch):]
		args := make([]any, 0, 4*len(batch))
		for _, id := range batch {
			args = append(args, id, r.Owner, r.ID, r.Created.UnixMicro())
		}
		// An id recorded already keeps its first owner: upstream ids are
		// unique, and a second claim on one is never granted.
		q := `INSERT INTO response_items (id, owner, response_id, created_us) VALUES (?,?,?,?)` +
			strings.Repeat(",(?,?,?,?)", len(batch)-1) + ` ON CONFLICT DO NOTHING`
		if _, err := tx.ExecContext(ctx, s.rebind(q), args...); err != nil {
			return fmt.Errorf("store: put response items: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: put response: %w", err)
	}
	return nil
}

// itemBatch bounds the ids of one statement on response_items (SQLite
// allows 32766 parameters, PostgreSQL 65535).
const itemBatch = 500

// OwnedItems implements store.Responses.
func (s *DB) OwnedItems(ctx context.Context, owner string, ids []string) (map[string]bool, error) {
	owned := make(map[string]bool, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), itemBatch)]
		ids = ids[len(batch):]
		args := make([]any, 0, len(batch)+1)
		args = append(args, owner)
		for _, id := range batch {
			args = append(args, id)
		}
		q := `SELECT id FROM response_items WHERE owner = ? AND id IN (?` + strings.Repeat(",?", len(batch)-1) + `)`
		rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
		if err != nil {
			return nil, fmt.Errorf("store: owned items: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: owned items: %w", err)
			}
			owned[id] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: owned items: %w", err)
		}
	}
	return owned, nil
}

// GetResponse implements store.Responses.
func (s *DB) GetResponse(ctx context.Context, id, owner string) (*store.StoredResponse, error) {
	var (
		r                      store.StoredResponse
		us                     int64
		items, output, respObj string
		policies, declared     string
	)
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT id, owner, created_us, model, items, output, response, policies, declared FROM responses WHERE id = ? AND owner = ?`), id, owner).
		Scan(&r.ID, &r.Owner, &us, &r.Model, &items, &output, &respObj, &policies, &declared)
	if isNoRows(err) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get response: %w", err)
	}
	r.Created = fromMicros(us)
	r.Items, r.Output, r.Response = []byte(items), []byte(output), []byte(respObj)
	if r.Policies, err = parseNames(policies); err == nil {
		r.Declared, err = parseNames(declared)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get response: %w", err)
	}
	return &r, nil
}

// names encodes a list of names as a JSON array, ” for none.
func names(n []string) string {
	if len(n) == 0 {
		return ""
	}
	b, _ := json.Marshal(n)
	return string(b)
}

func parseNames(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var n []string
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		return nil, fmt.Errorf("names %q: %w", s, err)
	}
	return n, nil
}

// DeleteResponse implements store.Responses; its item ids go with it.
func (s *DB) DeleteResponse(ctx context.Context, id, owner string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: delete response: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM responses WHERE id = ? AND owner = ?`), id, owner)
	if err != nil {
		return fmt.Errorf("store: delete response: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete response: %w", err)
	} else if n == 0 {
		return store.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM response_items WHERE response_id = ? AND owner = ?`), id, owner); err != nil {
		return fmt.Errorf("store: delete response items: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: delete response: %w", err)
	}
	return nil
}
