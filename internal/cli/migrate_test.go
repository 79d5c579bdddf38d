package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

func TestMigrate(t *testing.T) {
	ms, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	latest := ms[len(ms)-1].Version
	fx := newOpFixture(t)
	applied := fmt.Sprintf("applied migration %d\n", latest)
	if latest > 1 {
		applied = fmt.Sprintf("applied migrations 1 to %d\n", latest)
	}
	runs := []string{
		// A fresh store: the data dir does not exist yet.
		fmt.Sprintf("schema version before: 0\nschema version after: %d\n%s", latest, applied),
		fmt.Sprintf("schema version before: %d\nschema version after: %d\nup to date: nothing to apply\n", latest, latest),
	}
	for i, want := range runs {
		out, stderr, err := opRun(t, "migrate", "--config", fx.cfgPath)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, stderr)
		}
		if out != want {
			t.Errorf("run %d printed %q, want %q", i+1, out, want)
		}
	}
	// The store is usable by the other commands.
	if _, _, err := opRun(t, "usage", "--config", fx.cfgPath); err != nil {
		t.Errorf("usage after migrate: %v", err)
	}
}

func TestMigrateErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("storage:\n  url: mysql://db/fulcrum\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, cfg, want string }{
		{"missing config", filepath.Join(t.TempDir(), "none.yaml"), "none.yaml"},
		{"unsupported storage URL", bad, "storage.url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := opRun(t, "migrate", "--config", tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
