package open

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
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
