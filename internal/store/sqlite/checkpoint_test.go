package sqlite

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/internal/sqldb"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

// walSeq is the WAL header's checkpoint sequence number, which SQLite
// increments each time a writer starts the WAL over after a complete
// checkpoint (https://sqlite.org/fileformat2.html#walformat, bytes 12-15).
func walSeq(t *testing.T, path string) uint32 {
	t.Helper()
	f, err := os.Open(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var h [16]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint32(h[12:])
}

func openForCheckpoint(t *testing.T, path string, every time.Duration) *sqldb.DB {
	t.Helper()
	old := checkpointEvery
	checkpointEvery = every
	defer func() { checkpointEvery = old }()
	s, err := Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// commitRows commits n usage records from id from, in batches of 500 (as
// the recorder does at 1,000 records a second).
func commitRows(t *testing.T, s *sqldb.DB, from, n int) {
	t.Helper()
	for i := from; i < from+n; i += 500 {
		var b store.Batch
		for j := i; j < min(i+500, from+n); j++ {
			r := storetest.BenchRecord()
			r.RequestID = storetest.BenchRandomRequestID(j)
			r.Time = r.Time.Add(time.Duration(j) * time.Millisecond)
			b.Usage = append(b.Usage, r)
		}
		if _, err := s.Commit(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCommitsDoNotCheckpoint: a commit never copies the WAL into the
// database file itself (with SQLite's default wal_autocheckpoint, the
// commit that takes the WAL past 1,000 pages does, with two fsyncs, in
// the recorder's commit); the store's own checkpointer does, and the WAL
// then starts over.
func TestCommitsDoNotCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	s := openForCheckpoint(t, path, time.Hour) // the checkpointer does not run
	commitRows(t, s, 0, 500)
	seq := walSeq(t, path)
	fi, _ := os.Stat(path + "-wal")
	for n := 500; fi.Size() < 8<<20; n += 2000 {
		if n > 200_000 {
			t.Fatalf("WAL still %d bytes after %d records", fi.Size(), n)
		}
		commitRows(t, s, n, 2000)
		if got := walSeq(t, path); got != seq {
			t.Fatalf("a commit checkpointed the WAL (its sequence went from %d to %d at %d bytes, after %d records)", seq, got, fi.Size(), n)
		}
		fi, _ = os.Stat(path + "-wal")
	}
	if err := s.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	commitRows(t, s, 300_000, 1)
	if got := walSeq(t, path); got == seq {
		t.Errorf("the WAL did not start over after Checkpoint (sequence %d)", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The store's checkpointer, running every 10 ms, does the same.
	s = openForCheckpoint(t, path, 10*time.Millisecond)
	defer s.Close()
	commitRows(t, s, 400_000, 500)
	seq = walSeq(t, path)
	for i := 1; walSeq(t, path) == seq; i++ {
		if i > 1000 {
			t.Fatal("the checkpointer did not checkpoint the WAL in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
		commitRows(t, s, 500_000+i, 1)
	}
}

// TestCheckpointerKeepsCommitsOnOneConnection: the checkpointer has a
// connection of its own. Taken from the store's pool, a checkpoint that
// ran beside a commit opened a second pool connection, and the recorder's
// commits then alternated between the two, each holding its own page
// cache and prepared batch statements (4 MB more anonymous memory at 32
// connections in bench/load).
func TestCheckpointerKeepsCommitsOnOneConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	s := openForCheckpoint(t, path, time.Millisecond)
	defer s.Close()
	commitRows(t, s, 0, 500)
	seq := walSeq(t, path)
	// A write transaction held open: a commit under way while the
	// checkpointer runs, a hundred times.
	tx, err := s.SQL().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := s.SQL().Stats().OpenConnections; n != 1 {
		t.Errorf("the store's pool has %d connections open, want 1 (the checkpointer took one beside the commit)", n)
	}
	// And the checkpointer did checkpoint: the WAL starts over.
	for i := 1; walSeq(t, path) == seq; i++ {
		if i > 1000 {
			t.Fatal("the checkpointer did not checkpoint the WAL in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
		commitRows(t, s, 1000+i, 1)
	}
}
