package open

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreSQLite(t *testing.T) {
	ctx := context.Background()
	s, err := Store(ctx, "sqlite://"+filepath.Join(t.TempDir(), "sub", "f.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != 1 {
		t.Errorf("SchemaVersion = %d, %v; want 1 (migrated on open)", v, err)
	}
}

func TestStoreBadURL(t *testing.T) {
	_, err := Store(context.Background(), "mysql://root:hunter2@db/x", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v; want an error without the password", err)
	}
}
