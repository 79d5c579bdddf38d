package postgres_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/postgres"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

func TestEndUserTotals(t *testing.T) { storetest.EndUserTotals(t, openPostgres) }

func TestKeyUserBudget(t *testing.T) { storetest.KeyUserBudget(t, openPostgres) }

func openPostgres(t *testing.T) store.Store {
	s, err := postgres.Open(context.Background(), storetest.PostgresURL(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}
