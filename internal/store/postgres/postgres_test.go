package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/postgres"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		u := storetest.PostgresURL(t)
		s, err := postgres.Open(context.Background(), u, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := postgres.Open(context.Background(), storetest.PostgresURL(b), slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		return s
	})
}

func TestUpgrade(t *testing.T) {
	s, err := postgres.Open(context.Background(), storetest.PostgresURL(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	storetest.Upgrade(t, s, s.SQL(), ms)
}

func TestAuditHead(t *testing.T) {
	u := storetest.PostgresURL(t)
	storetest.AuditHead(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), u, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestAttrUpgrade(t *testing.T) {
	s, err := postgres.Open(context.Background(), storetest.PostgresURL(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	storetest.AttrUpgrade(t, s, s.SQL(), ms)
}
