package storetest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var schemaSeq atomic.Int64

// PostgresURL creates a schema of the test's own, drops it at cleanup and
// returns FULCRUM_TEST_POSTGRES_URL with search_path set to it, so runs
// never see each other's data. Without the variable the test is skipped.
func PostgresURL(t testing.TB) string {
	base := os.Getenv("FULCRUM_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("set FULCRUM_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("FULCRUM_TEST_POSTGRES_URL: %v", err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("fulcrum_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, schemaSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
