package sqlite_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
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

func TestPathFromURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sqlite://fulcrum-data/fulcrum.db", "fulcrum-data/fulcrum.db"},
		{"sqlite:///var/lib/fulcrum.db", "/var/lib/fulcrum.db"},
	}
	for _, tt := range tests {
		got, err := sqlite.PathFromURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("PathFromURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := sqlite.PathFromURL("postgres://x"); err == nil {
		t.Error("PathFromURL(postgres://x) succeeded")
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
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
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ms, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	storetest.Upgrade(t, s, s.SQL(), ms)
}

func TestAuditHead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	storetest.AuditHead(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), path, slog.New(slog.DiscardHandler))
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
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	ms, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	storetest.AttrUpgrade(t, s, s.SQL(), ms)
}
