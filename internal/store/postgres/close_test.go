package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store/postgres"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

// Close closes the connections: closing the *sql.DB made from the pgx pool
// left the pool, and its connections to the server, open.
func TestCloseClosesConnections(t *testing.T) {
	url := storetest.PostgresURL(t)
	app := fmt.Sprintf("fulcrum-close-test-%d", time.Now().UnixNano())
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	ctx := context.Background()
	s, err := postgres.Open(ctx, url+sep+"application_name="+app, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	watch, err := postgres.Open(ctx, url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	count := func() int {
		var n int
		if err := watch.SQL().QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n == 0 {
		t.Fatal("the store holds no connection before Close: the test sees nothing")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open 10 s after Close", count())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
