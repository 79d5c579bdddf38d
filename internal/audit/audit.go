// Package audit defines and verifies the data-sovereignty audit log: one
// hash-chained row per upstream call (and one for a request that made
// none), never holding a sensitive value.
//
// Rows are written by the meter.Recorder, in the same journal line as the
// attempt's usage record and the same store transaction, which chains each
// row to the previous one with Hash (policy.ChainHash). Store rows and
// policy records are converted here, in one place, so writing and
// verifying hash the same bytes; Verify is the one verifier (the CLI's
// `fulcrum audit verify` runs it).
package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// EncodeClasses turns class counts into the store's strings, "email:2".
func EncodeClasses(cc []policy.ClassCount) []string {
	out := make([]string, len(cc))
	for i, c := range cc {
		out[i] = c.Class + ":" + strconv.Itoa(c.Count)
	}
	return out
}

// DecodeClasses is EncodeClasses' inverse. A string without a count has 0.
func DecodeClasses(ss []string) []policy.ClassCount {
	out := make([]policy.ClassCount, len(ss))
	for i, s := range ss {
		name, n, _ := strings.Cut(s, ":")
		c, _ := strconv.Atoi(n)
		out[i] = policy.ClassCount{Class: name, Count: c}
	}
	return out
}

// ToRecord converts a stored row to the record the chain hashes.
func ToRecord(r *store.AuditRow) policy.AuditRecord {
	return policy.AuditRecord{
		Seq: r.Seq, Time: r.Time, RequestID: r.RequestID, Key: r.KeyID,
		Classes: DecodeClasses(r.Classes), Action: r.Action, Candidates: r.Candidates,
		Chosen: r.Chosen, ChosenHosting: r.ChosenHosting, Outcome: r.Outcome,
		PrevHash: r.PrevHash, Hash: r.Hash,
	}
}

// Hash is the chain hash of a stored row, for store.AppendAudit.
func Hash(prev string, r *store.AuditRow) string {
	rec := ToRecord(r)
	return policy.ChainHash(prev, &rec)
}

// Result is what Verify found.
type Result struct {
	// Rows is how many rows were checked.
	Rows int
	// Head is the last row checked (nil for an empty log): keep its seq
	// and hash elsewhere to detect the newest rows being deleted.
	Head *store.AuditRow
	// Bad is the first row that breaks the chain, nil when it is intact.
	Bad *store.AuditRow
	// Checkpoint is where the kept chain starts when older rows were
	// pruned (nil when none were).
	Checkpoint *store.AuditCheckpoint
}

// Verify reads the whole log in seq order, a page at a time, and checks
// the chain: every row's hash must match its content and the previous
// row's hash, and seqs must run from 1 without a gap, or, when older rows
// were pruned, from the checkpoint: the first kept row must carry the
// checkpoint's seq + 1 and its hash as prev_hash. Where the store keeps
// the chain's head (store.AuditHeader), the rows must reach it with its
// hash, so that deleting the newest rows is found too. When the chain is
// broken it returns the first bad row in Result.Bad and an error wrapping
// policy.ErrChainBroken; other errors are the store's.
func Verify(ctx context.Context, st store.Store) (Result, error) {
	var c chain
	f := store.AuditFilter{Limit: verifyPage}
	// The head first: appends only move it on, and the rows read after
	// hold it (it moves in the transaction that appends them).
	if h, ok := st.(store.AuditHeader); ok {
		seq, hash, ok, err := h.AuditHead(ctx)
		if err != nil {
			return c.res, err
		}
		if ok {
			c.head = &store.AuditRow{Seq: seq, Hash: hash}
		}
	}
	if rt, ok := st.(store.Retention); ok {
		cp, err := rt.AuditCheckpoint(ctx)
		if err != nil {
			return c.res, err
		}
		c.res.Checkpoint = cp
	}
	for {
		rows, err := st.Audit(ctx, f)
		if err != nil {
			return c.res, err
		}
		if err := c.add(rows, "the checkpoint of pruned rows"); err != nil {
			return c.res, err
		}
		if err := c.atHead(rows); err != nil {
			return c.res, err
		}
		if len(rows) < verifyPage {
			return c.res, c.reached()
		}
		f.AfterSeq = rows[len(rows)-1].Seq
	}
}

// atHead checks the row at the store's head, if rows holds it: a chain
// that verifies but ends elsewhere was rewritten from some row on.
func (c *chain) atHead(rows []store.AuditRow) error {
	if c.head == nil || c.headSeen {
		return nil
	}
	for i := range rows {
		if rows[i].Seq != c.head.Seq {
			continue
		}
		c.headSeen = true
		if rows[i].Hash != c.head.Hash {
			c.res.Bad = &rows[i]
			return fmt.Errorf("%w: record seq %d has hash %s, but the chain's head says %s (records rewritten)",
				policy.ErrChainBroken, rows[i].Seq, rows[i].Hash, c.head.Hash)
		}
	}
	return nil
}

// reached checks, at the end of the log, that the chain reached the
// store's head. The head was read before the rows, so its row must be
// among them, or be the checkpoint when every row was pruned. Deleting
// the newest rows leaves a chain that verifies on its own; only the head
// shows they are gone.
func (c *chain) reached() error {
	if c.head == nil || c.headSeen {
		return nil
	}
	if cp := c.res.Checkpoint; cp != nil && cp.Seq >= c.head.Seq {
		if cp.Seq == c.head.Seq && cp.Hash != c.head.Hash {
			return fmt.Errorf("%w: every record was pruned, but the checkpoint (seq %d, hash %s) is not the chain's head (hash %s)",
				policy.ErrChainBroken, cp.Seq, cp.Hash, c.head.Hash)
		}
		return nil
	}
	last := "no record"
	if c.res.Head != nil {
		last = fmt.Sprintf("seq %d", c.res.Head.Seq)
	}
	return fmt.Errorf("%w: the log ends at %s, but the chain's head is seq %d with hash %s (the newest records were deleted)",
		policy.ErrChainBroken, last, c.head.Seq, c.head.Hash)
}

// VerifyTail verifies the latest n rows of the log as Verify does the
// whole, from the first of them, whose link to the rows before it is
// taken as stored; whole reports that the log kept (after the checkpoint
// of pruned rows) has at most n rows, which were then all verified from
// its start. For a page that must answer at any size (the dashboard):
// `fulcrum audit verify` checks the whole chain.
func VerifyTail(ctx context.Context, st store.Store, n int) (res Result, whole bool, err error) {
	head, err := st.Audit(ctx, store.AuditFilter{Limit: 1, Newest: true})
	if err != nil || len(head) == 0 {
		return res, true, err
	}
	var from int64
	if rt, ok := st.(store.Retention); ok {
		cp, err := rt.AuditCheckpoint(ctx)
		if err != nil {
			return res, false, err
		}
		if cp != nil {
			from = cp.Seq
		}
	}
	if head[0].Seq-from <= int64(n) {
		res, err = Verify(ctx, st)
		return res, true, err
	}
	var c chain
	f := store.AuditFilter{AfterSeq: head[0].Seq - int64(n), Limit: verifyPage}
	for {
		rows, err := st.Audit(ctx, f)
		if err != nil {
			return c.res, false, err
		}
		if c.res.Checkpoint == nil && len(rows) > 0 {
			c.res.Checkpoint = &store.AuditCheckpoint{Seq: f.AfterSeq, Hash: rows[0].PrevHash}
		}
		if err := c.add(rows, "the row before"); err != nil {
			return c.res, false, err
		}
		if len(rows) < verifyPage {
			return c.res, false, nil
		}
		f.AfterSeq = rows[len(rows)-1].Seq
	}
}

// chain verifies rows handed to it in pages, in seq order, from
// res.Checkpoint (nil: from seq 1).
type chain struct {
	res  Result
	prev *policy.AuditRecord
	// head is the store's chain head (store.AuditHeader; nil: none, or
	// not checked), headSeen whether its row was verified.
	head     *store.AuditRow
	headSeen bool
}

// add verifies the next page; from names where the checkpoint came from,
// for the error when the first row does not follow it.
func (c *chain) add(rows []store.AuditRow, from string) error {
	if c.prev == nil && len(rows) > 0 {
		if cp := c.res.Checkpoint; cp == nil && rows[0].Seq != 1 {
			c.res.Bad = &rows[0]
			return fmt.Errorf("%w: the log starts at seq %d, not 1 (records deleted)", policy.ErrChainBroken, rows[0].Seq)
		} else if cp != nil && (rows[0].Seq != cp.Seq+1 || rows[0].PrevHash != cp.Hash) {
			c.res.Bad = &rows[0]
			return fmt.Errorf("%w: the log starts at seq %d with prev_hash %s, but %s is seq %d with hash %s (records deleted, or the checkpoint edited)",
				policy.ErrChainBroken, rows[0].Seq, rows[0].PrevHash, from, cp.Seq, cp.Hash)
		}
	}
	recs := make([]policy.AuditRecord, 0, len(rows)+1)
	if c.prev != nil {
		recs = append(recs, *c.prev)
	}
	for i := range rows {
		recs = append(recs, ToRecord(&rows[i]))
	}
	if i, verr := policy.VerifyChain(recs); verr != nil {
		if c.prev != nil {
			i = max(i-1, 0) // prev was verified with the previous page
		}
		c.res.Rows += i
		c.res.Bad = &rows[i]
		return verr
	}
	c.res.Rows += len(rows)
	if len(rows) > 0 {
		last := recs[len(recs)-1]
		c.prev = &last
		c.res.Head = &rows[len(rows)-1]
	}
	return nil
}

// verifyPage is how many rows one store query reads.
const verifyPage = 1000

// RecoverJournal appends to st the rows an older Fulcrum left in its own
// audit journal (dir/audit.jsonl, written before audit rows shared the
// usage journal) that st does not have yet, then removes the file. It
// returns how many rows the file held.
func RecoverJournal(ctx context.Context, st store.Store, dir string, log *slog.Logger) (int, error) {
	path := filepath.Join(dir, "audit.jsonl")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit: journal: %w", err)
	}
	defer f.Close()
	var rows []store.AuditRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r store.AuditRow
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			rows = append(rows, r)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("audit: journal: %w", err)
	}
	if len(rows) > 0 {
		// Commit skips the rows already stored (same request id, time
		// and chosen provider).
		if _, err := st.Commit(ctx, store.Batch{Audit: rows, Hash: Hash, Replay: true}); err != nil {
			return 0, fmt.Errorf("audit: recover: %w", err)
		}
		if log != nil {
			log.Info("audit rows replayed from the old audit journal", "rows", len(rows))
		}
	}
	f.Close()
	if err := os.Remove(path); err != nil {
		return len(rows), fmt.Errorf("audit: journal: %w", err)
	}
	return len(rows), nil
}
