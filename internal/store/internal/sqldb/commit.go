package sqldb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Commit implements store.Store.
//
// The batch is first written as if every record were new, which in normal
// operation each one is: the recorder hands every record over once. Only a
// journal replay after a crash, or a batch retried because its commit's
// reply was lost, brings records the store already has; a usage record's
// unique (ts, request_id, attempt) then fails the transaction, which is
// rolled back and done again the careful way, skipping (and not counting)
// what is stored. So the price of idempotence (ON CONFLICT ... RETURNING on
// every row, a look at the audit rows of the batch's time range) is paid
// only when it buys something. Audit rows carry no unique key of their
// own: a batch that may repeat audit rows must say so (Replay).
func (s *DB) Commit(ctx context.Context, b store.Batch) (int, error) {
	if len(b.Usage) == 0 && len(b.Audit) == 0 {
		return 0, nil
	}
	if len(b.Audit) > 0 && b.Hash == nil {
		return 0, errors.New("store: commit: audit rows without a hash function")
	}
	if !b.Replay {
		n, err := s.commit(ctx, b, false)
		if err == nil {
			return n, nil
		}
		if ctx.Err() != nil || len(b.Usage) == 0 || (s.d.IsConflict != nil && !s.d.IsConflict(err)) {
			return 0, fmt.Errorf("store: commit: %w", err)
		}
	}
	n, err := s.commit(ctx, b, true)
	if err != nil {
		return 0, fmt.Errorf("store: commit: %w", err)
	}
	return n, nil
}

func (s *DB) commit(ctx context.Context, b store.Batch, careful bool) (int, error) {
	var us usageStmts
	var as auditStmts
	var err error
	if len(b.Usage) > 0 {
		if us, err = s.prepareUsage(ctx); err != nil {
			return 0, err
		}
	}
	if len(b.Audit) > 0 {
		if as, err = s.prepareAudit(ctx); err != nil {
			return 0, err
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	ectx := stmtCtx(ctx)
	if len(b.Audit) > 0 {
		// First, so that every transaction takes its locks in one order:
		// the audit lock, then total rows in key order.
		if err := s.lock(ectx, tx, lockAudit); err != nil {
			return 0, err
		}
	}
	n := len(b.Usage)
	var w attrWork
	if n > 0 {
		if careful {
			_, n, err = s.writeUsageCareful(ectx, tx, us, b.Usage, &w)
		} else {
			err = s.writeUsageNew(ectx, tx, us, b.Usage, &w)
		}
		if err != nil {
			return 0, err
		}
	}
	var audit []store.AuditRow
	if len(b.Audit) > 0 {
		if audit, err = s.writeAudit(ectx, tx, as, b.Audit, b.Hash, careful); err != nil {
			return 0, fmt.Errorf("audit: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	copy(b.Audit, audit)
	if len(w.found) > 0 {
		s.users.learn(w.found, w.full, s.endUsersPerDay())
	}
	if len(b.Usage) > 0 {
		s.pruneSeconds(ctx)
	}
	return n, nil
}

// pruneSeconds deletes the second rollups older than
// store.SecondRollupsKept, at most once a minute, after a commit and in a
// statement of its own (about a minute's worth of rows: 60 × the active
// combinations), so that they stay a bounded hour's worth without a
// retention setting. A failure is logged; the next commit tries again.
func (s *DB) pruneSeconds(ctx context.Context) {
	now := s.now()
	last := s.secondsPruned.Load()
	if now.UnixMicro()-last < time.Minute.Microseconds() || !s.secondsPruned.CompareAndSwap(last, now.UnixMicro()) {
		return
	}
	cut := now.Add(-store.SecondRollupsKept).UnixMicro()
	if _, err := s.db.ExecContext(stmtCtx(ctx), s.rebind(`DELETE FROM usage_rollup WHERE grain = ? AND bucket < ?`),
		store.GrainSecond, cut); err != nil {
		s.log.Warn("pruning second rollups", "err", err)
	}
}
