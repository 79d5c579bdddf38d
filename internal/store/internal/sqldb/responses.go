package sqldb

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

var _ store.Responses = (*DB)(nil)

// PutResponse implements store.Responses.
func (s *DB) PutResponse(ctx context.Context, r *store.StoredResponse) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO responses (id, owner, created_us, model, items, output, response, policies, declared)
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
	return nil
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

// DeleteResponse implements store.Responses.
func (s *DB) DeleteResponse(ctx context.Context, id, owner string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM responses WHERE id = ? AND owner = ?`), id, owner)
	if err != nil {
		return fmt.Errorf("store: delete response: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete response: %w", err)
	} else if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
