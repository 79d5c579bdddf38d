package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

// TestRecordCommandsRefuseMissingStore: a command that reads or maintains
// records, pointed at a store that does not exist (a wrong --config, the
// wrong directory), fails naming the path. Before, it created an empty
// store and reported on it: `audit verify` said "ok: 0 records, chain
// intact" and exited 0, `usage` printed zero totals.
func TestRecordCommandsRefuseMissingStore(t *testing.T) {
	fx := newOpFixture(t) // its data directory is not there
	for _, args := range [][]string{
		{"usage"},
		{"usage", "--group-by", "day,model"},
		{"audit", "verify"},
		{"audit", "list"},
		{"audit", "export", "--until", "2026-12-01"},
		{"savings"},
		{"shadow", "report"},
		{"store", "prune", "--dry-run"},
		{"store", "prune"},
		{"advise", "--profile", "../../examples/profiles/startup.yaml", "--measured"},
		{"keys", "list"},
		{"keys", "revoke", "key-1"},
		{"keys", "rotate", "key-1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, _, err := opRun(t, append(args, "--config", fx.cfgPath)...)
			if err == nil || !errors.Is(err, open.ErrNoStore) || !strings.Contains(err.Error(), fx.dbPath) {
				t.Errorf("err = %v; want one naming the missing store %s\n%s", err, fx.dbPath, out)
			}
			if _, err := os.Stat(filepath.Dir(fx.dbPath)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the command created %s (%v)", filepath.Dir(fx.dbPath), err)
			}
		})
	}

	// Creating a key may come before the gateway's first start: it
	// creates the store (listing, revoking, rotating do not).
	if _, _, err := opRun(t, "keys", "create", "--name", "first", "--config", fx.cfgPath); err != nil {
		t.Fatalf("keys create on a new store: %v", err)
	}
	if out, _, err := opRun(t, "usage", "--config", fx.cfgPath); err != nil || !strings.Contains(out, "TOTAL") {
		t.Errorf("usage on the store keys created: %v\n%s", err, out)
	}
}
