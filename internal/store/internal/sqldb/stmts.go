package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
)

// rowsPerStmt is how many rows one prepared multi-row INSERT carries on
// SQLite. Batches go through it in chunks, the remainder through the
// statements for 8, 4, 2 and 1 rows (rowStmts): all are prepared once, so
// a batch costs no parsing, and a chunk costs one trip through
// database/sql and the driver instead of sixteen.
// (A single statement for the whole batch would have to be parsed anew
// for each batch size; measured in storetest.Bench.)
const rowsPerStmt = 16

// stmt is a statement transactions run: prepared once through
// database/sql (st), or, when the driver keeps its own per-connection
// statement cache (Dialect.CachesStatements), only its SQL (q).
//
// Why not prepare on PostgreSQL as well: the *sql.DB over a pgx pool keeps
// no idle connections (stdlib.OpenDBFromPool sets SetMaxIdleConns(0), so
// that the pool owns them), so every transaction gets a new database/sql
// connection, on which Tx.StmtContext prepares the statement again (a
// Parse/Describe round trip) and which deallocates it when released
// (another). pgx's default QueryExecModeCacheStatement instead prepares a
// query once per pool connection and keeps it across acquisitions.
type stmt struct {
	st *sql.Stmt
	q  string
}

// ok reports whether st is a statement (not the zero stmt).
func (st stmt) ok() bool { return st.st != nil || st.q != "" }

// on binds st to tx; Close the result when done.
func (st stmt) on(ctx context.Context, tx *sql.Tx) txStmt {
	if st.st == nil {
		return txStmt{tx: tx, q: st.q}
	}
	return txStmt{st: tx.StmtContext(ctx, st.st)}
}

// txStmt is a stmt bound to a transaction.
type txStmt struct {
	st *sql.Stmt // tx's copy of the prepared statement, or nil
	tx *sql.Tx
	q  string
}

func (t txStmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	if t.st != nil {
		return t.st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, t.q, args...)
}

func (t txStmt) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	if t.st != nil {
		return t.st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, t.q, args...)
}

func (t txStmt) Close() {
	if t.st != nil {
		t.st.Close()
	}
}

// exec runs st once in tx.
func (st stmt) exec(ctx context.Context, tx *sql.Tx, args ...any) error {
	t := st.on(ctx, tx)
	defer t.Close()
	_, err := t.ExecContext(ctx, args...)
	return err
}

// queryRow runs st, a query of one row without arguments, in tx and
// scans the row into dest.
func (st stmt) queryRow(ctx context.Context, tx *sql.Tx, dest ...any) error {
	t := st.on(ctx, tx)
	defer t.Close()
	return t.QueryRowContext(ctx).Scan(dest...)
}

// prepared returns the statement for q, preparing it on first use unless
// the driver caches statements itself; it is kept until Close, and
// database/sql prepares it again on each connection that runs it. Call it
// before BeginTx: preparing may need a connection of its own, and a
// transaction that waits for one can wait for ever.
func (s *DB) prepared(ctx context.Context, q string) (stmt, error) {
	if s.d.CachesStatements {
		return stmt{q: q}, nil
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st := s.stmts[q]; st != nil {
		return stmt{st: st}, nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return stmt{}, fmt.Errorf("prepare: %w", err)
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[q] = st
	return stmt{st: st}, nil
}

// insertSQL is an INSERT of rows rows of n columns each, bound to ? (or
// $n) placeholders.
func (s *DB) insertSQL(table, cols string, n, rows int) string {
	return s.rebind(rowsSQL(table, cols, n, rows))
}

// rowsSQL is insertSQL with ? placeholders.
func rowsSQL(table, cols string, n, rows int) string {
	var b strings.Builder
	b.Grow(len(table) + len(cols) + 32 + rows*(n*2+3))
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	b.WriteString(cols)
	b.WriteString(") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?")
		b.WriteString(strings.Repeat(",?", n-1))
		b.WriteByte(')')
	}
	return b.String()
}

// rowStmts are the prepared INSERTs a batch of rows goes through: one
// for per rows, and one for each smaller power of two down to one row.
// A batch goes through them largest first, so its rows keep their order
// and a remainder of r rows costs one statement per bit set in r (at most
// four for per = 16) instead of r: a flush of 8 rows, what the recorder
// makes at about 100 requests/s, is one trip through database/sql and
// the driver instead of eight.
type rowStmts struct {
	by    []stmt // by[k] inserts per>>k rows; the last one row
	ncols int
	per   int
}

// ok reports whether rs holds statements (not the zero rowStmts).
func (rs rowStmts) ok() bool { return len(rs.by) > 0 }

func (s *DB) rowStmts(ctx context.Context, table, cols string, ncols int) (rowStmts, error) {
	return s.rowStmtsOf(ctx, ncols, rowsPerStmt, func(rows int) string { return s.insertSQL(table, cols, ncols, rows) })
}

// rowStmtsOf prepares the statements q returns for per rows (a power of
// two) and for each smaller power of two.
func (s *DB) rowStmtsOf(ctx context.Context, ncols, per int, q func(rows int) string) (rowStmts, error) {
	if per < 1 || per&(per-1) != 0 {
		return rowStmts{}, fmt.Errorf("rows per statement %d: not a power of two", per)
	}
	rs := rowStmts{ncols: ncols, per: per}
	for n := per; n >= 1; n /= 2 {
		st, err := s.prepared(ctx, q(n))
		if err != nil {
			return rowStmts{}, err
		}
		rs.by = append(rs.by, st)
	}
	return rs, nil
}

// exec inserts n rows in tx; appendRow appends row i's values to args.
func (rs rowStmts) exec(ctx context.Context, tx *sql.Tx, n int, appendRow func(args []any, i int) []any) error {
	args := make([]any, 0, rs.per*rs.ncols)
	i := 0
	for k, st := range rs.by {
		size := rs.per >> k
		if n-i < size {
			continue
		}
		t := st.on(ctx, tx)
		for ; i+size <= n; i += size {
			args = args[:0]
			for j := i; j < i+size; j++ {
				args = appendRow(args, j)
			}
			if _, err := t.ExecContext(ctx, args...); err != nil {
				t.Close()
				return err
			}
			if size == rs.per {
				// On one core a long batch would keep requests waiting
				// for milliseconds: let them run between statements.
				runtime.Gosched()
			}
		}
		t.Close()
	}
	return nil
}
