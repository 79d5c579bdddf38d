package open

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

func TestStoreSQLite(t *testing.T) {
	ctx := context.Background()
	s, err := Store(ctx, "sqlite://"+filepath.Join(t.TempDir(), "sub", "f.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	want := ms[len(ms)-1].Version
	if v, err := s.SchemaVersion(ctx); err != nil || v != want {
		t.Errorf("SchemaVersion = %d, %v; want %d (migrated on open)", v, err, want)
	}
}

func TestStoreBadURL(t *testing.T) {
	_, err := Store(context.Background(), "mysql://root:hunter2@db/x", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v; want an error without the password", err)
	}
}

// TestExisting: Existing opens a store that is there (and migrates it)
// and refuses one that is not, creating nothing: a SQLite file missing, a
// PostgreSQL database without Fulcrum's tables.
func TestExisting(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	path := filepath.Join(t.TempDir(), "sub", "f.db")
	if _, err := Existing(ctx, "sqlite://"+path, log); !errors.Is(err, ErrNoStore) || !strings.Contains(err.Error(), path) {
		t.Errorf("Existing(missing SQLite) = %v; want ErrNoStore naming %s", err, path)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Existing created %s", filepath.Dir(path))
	}
	s, err := Store(ctx, "sqlite://"+path, log)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Existing(ctx, "sqlite://"+path, log); err != nil {
		t.Fatalf("Existing(a SQLite store) = %v", err)
	}
	s.Close()

	url := storetest.PostgresURL(t) // a schema of its own, empty
	if _, err := Existing(ctx, url, log); !errors.Is(err, ErrNoStore) {
		t.Errorf("Existing(PostgreSQL without Fulcrum's tables) = %v; want ErrNoStore", err)
	}
	if s, err = Store(ctx, url, log); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Existing(ctx, url, log); err != nil {
		t.Fatalf("Existing(a PostgreSQL store) = %v", err)
	}
	s.Close()
}
