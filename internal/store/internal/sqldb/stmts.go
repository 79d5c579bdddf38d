package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
)

// rowsPerStmt is how many rows one prepared multi-row INSERT carries on
// SQLite. Batches go through it in chunks, the remainder row by row: both
// statements are prepared once, so a batch costs no parsing, and a chunk
// costs one trip through database/sql and the driver instead of sixteen.
// (A single statement for the whole batch would have to be parsed anew
// for each batch size; measured in storetest.Bench.)
const rowsPerStmt = 16

// prepared returns the statement for q, preparing it on first use; it is
// kept until Close, and database/sql prepares it again on each connection
// that runs it. Call it before BeginTx: preparing may need a connection of
// its own, and a transaction that waits for one can wait for ever.
func (s *DB) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st := s.stmts[q]; st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[q] = st
	return st, nil
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

// rowStmts are the two prepared INSERTs a batch of rows goes through.
type rowStmts struct {
	many, one *sql.Stmt // per rows, one row
	ncols     int
	per       int
}

func (s *DB) rowStmts(ctx context.Context, table, cols string, ncols int) (rowStmts, error) {
	return s.rowStmtsOf(ctx, ncols, rowsPerStmt, func(rows int) string { return s.insertSQL(table, cols, ncols, rows) })
}

// rowStmtsOf prepares the statements q returns for per rows and for one.
func (s *DB) rowStmtsOf(ctx context.Context, ncols, per int, q func(rows int) string) (rowStmts, error) {
	many, err := s.prepared(ctx, q(per))
	if err != nil {
		return rowStmts{}, err
	}
	one, err := s.prepared(ctx, q(1))
	if err != nil {
		return rowStmts{}, err
	}
	return rowStmts{many: many, one: one, ncols: ncols, per: per}, nil
}

// exec inserts n rows in tx; appendRow appends row i's values to args.
func (rs rowStmts) exec(ctx context.Context, tx *sql.Tx, n int, appendRow func(args []any, i int) []any) error {
	per := rs.per
	args := make([]any, 0, per*rs.ncols)
	i := 0
	if n >= per {
		many := tx.StmtContext(ctx, rs.many)
		defer many.Close()
		for ; i+per <= n; i += per {
			args = args[:0]
			for j := i; j < i+per; j++ {
				args = appendRow(args, j)
			}
			if _, err := many.ExecContext(ctx, args...); err != nil {
				return err
			}
			// On one core a long batch would keep requests waiting for
			// milliseconds: let them run between statements.
			runtime.Gosched()
		}
	}
	if i == n {
		return nil
	}
	one := tx.StmtContext(ctx, rs.one)
	defer one.Close()
	for ; i < n; i++ {
		if _, err := one.ExecContext(ctx, appendRow(args[:0], i)...); err != nil {
			return err
		}
	}
	return nil
}
