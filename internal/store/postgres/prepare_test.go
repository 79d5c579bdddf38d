package postgres

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

// prepares counts the statements pgx prepares on the server (a Parse and
// Describe round trip each), not the lookups it answers from its cache.
type prepares struct{ n atomic.Int64 }

func (*prepares) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (*prepares) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (*prepares) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	return ctx
}
func (p *prepares) TracePrepareEnd(_ context.Context, _ *pgx.Conn, d pgx.TracePrepareEndData) {
	if !d.AlreadyPrepared {
		p.n.Add(1)
	}
}

// TestCommitPreparesOnce checks that recording costs no statement
// preparation once warm: database/sql's prepared statements were prepared
// again (and deallocated) on every transaction over the pgx pool, a round
// trip each (issue 17).
func TestCommitPreparesOnce(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConnConfig.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement {
		t.Skip("the URL sets a default_query_exec_mode without a statement cache")
	}
	var p prepares
	cfg.ConnConfig.Tracer = &p
	cfg.MaxConns = 1 // so that one round warms every connection
	s, err := open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.SetEndUsersPerDay(100)
	seq, rounds := 0, 0
	// Each round commits the batch shapes of recording: one record, a
	// batch with end users and tags, a replayed batch, and usage with
	// audit rows.
	round := func() {
		t.Helper()
		batch := func(n int) []store.UsageRecord {
			recs := make([]store.UsageRecord, n)
			for i := range recs {
				seq++
				recs[i] = storetest.BenchRecord()
				recs[i].RequestID = storetest.BenchRequestID(seq)
				recs[i].Time = time.Now().UTC().Add(time.Duration(seq) * time.Microsecond)
			}
			return recs
		}
		if _, err := s.InsertUsage(ctx, batch(1)); err != nil {
			t.Fatal(err)
		}
		recs := batch(40)
		for i := range recs {
			recs[i].EndUser = "user-" + strconv.Itoa(i%4)
			recs[i].Tags = map[string]string{"team": "search"}
		}
		if _, err := s.InsertUsage(ctx, recs); err != nil {
			t.Fatal(err)
		}
		// A replay goes the careful way (ON CONFLICT ... RETURNING); its
		// size differs each round and must not make a new statement.
		rounds++
		if _, err := s.Commit(ctx, store.Batch{Usage: batch(rounds), Replay: true}); err != nil {
			t.Fatal(err)
		}
		recs = batch(2)
		audit := []store.AuditRow{{Time: recs[0].Time, RequestID: recs[0].RequestID, Action: "none", Chosen: "openai", Outcome: "200"}}
		if _, err := s.Commit(ctx, store.Batch{Usage: recs, Audit: audit, Hash: func(prev string, r *store.AuditRow) string {
			return prev + "x"
		}}); err != nil {
			t.Fatal(err)
		}
	}
	round()
	warm := p.n.Load()
	if warm == 0 {
		t.Fatal("no statement prepared while warming up: is the tracer in use?")
	}
	for range 10 {
		round()
	}
	if n := p.n.Load() - warm; n != 0 {
		t.Errorf("10 warm rounds of commits prepared %d statements, want 0 (warm-up prepared %d)", n, warm)
	}
}
