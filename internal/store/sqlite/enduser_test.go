package sqlite_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

func TestEndUserTotals(t *testing.T) { storetest.EndUserTotals(t, openSQLite) }

func TestKeyUserBudget(t *testing.T) { storetest.KeyUserBudget(t, openSQLite) }

func openSQLite(t *testing.T) store.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}
