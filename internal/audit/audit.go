// Package audit writes and verifies the data-sovereignty audit log: one
// hash-chained row per request, never holding a sensitive value.
//
// Rows are journaled to a local file with one write before the response
// completes (so a killed process loses none), then appended to the store in
// order by a single writer goroutine, which chains each row to the previous
// one with policy.ChainHash. Store rows and policy records are converted
// here, in one place, so writing and verifying hash the same bytes.
package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

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

// Verify reads the whole log in seq order and checks the chain. It returns
// the number of rows, and the first bad row with the reason when the chain
// is broken.
func Verify(ctx context.Context, st store.Store) (n int, bad *store.AuditRow, err error) {
	var prev *policy.AuditRecord
	var after int64
	for {
		rows, err := st.Audit(ctx, store.AuditFilter{AfterSeq: after, Limit: 1000})
		if err != nil {
			return n, nil, err
		}
		if len(rows) == 0 {
			return n, nil, nil
		}
		recs := make([]policy.AuditRecord, 0, len(rows)+1)
		if prev != nil {
			recs = append(recs, *prev)
		}
		for i := range rows {
			recs = append(recs, ToRecord(&rows[i]))
		}
		if i, verr := policy.VerifyChain(recs); verr != nil {
			if prev != nil {
				i--
			}
			if i < 0 {
				i = 0
			}
			return n + i, &rows[i], verr
		}
		n += len(rows)
		last := recs[len(recs)-1]
		prev = &last
		after = rows[len(rows)-1].Seq
	}
}

// Writer appends rows to the store in order, durably. Safe for concurrent use.
type Writer struct {
	st  store.Store
	log *slog.Logger

	mu      sync.Mutex // guards the following fields, and keeps journal and queue in one order
	f       *os.File
	size    int64            // bytes in the journal since it was last emptied
	queue   []store.AuditRow // queue[head:] awaits the store
	head    int
	unsaved bool // rows given up on at Close: the journal must stay

	wake chan struct{} // a row was queued into an empty queue, or maxBatch are queued
	done chan struct{}
	wg   sync.WaitGroup
}

// NewWriter replays rows left in dir's journal by a previous process, then
// starts the writer.
func NewWriter(ctx context.Context, st store.Store, dir string, log *slog.Logger) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	path := filepath.Join(dir, "audit.jsonl")
	if err := replay(ctx, st, path, log); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: journal: %w", err)
	}
	w := &Writer{st: st, log: log, f: f, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.wg.Add(1)
	go w.run()
	return w, nil
}

// replay appends the journal's rows that the store does not have yet.
func replay(ctx context.Context, st store.Store, path string, log *slog.Logger) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: journal: %w", err)
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
	if len(rows) == 0 {
		return nil
	}
	// Rows committed before the process died are already stored: skip
	// their request ids.
	have := map[string]bool{}
	existing, err := st.Audit(ctx, store.AuditFilter{From: rows[0].Time.Add(-time.Second), Limit: 1 << 20})
	if err != nil {
		return fmt.Errorf("audit: replay: %w", err)
	}
	for _, r := range existing {
		have[r.RequestID] = true
	}
	n := 0
	for i := range rows {
		if have[rows[i].RequestID] {
			continue
		}
		if err := st.AppendAudit(ctx, &rows[i], Hash); err != nil {
			return fmt.Errorf("audit: replay: %w", err)
		}
		n++
	}
	if n > 0 {
		log.Info("audit rows recovered from journal", "rows", n)
	}
	return nil
}

// Write journals row and queues it for the store. It returns once the row
// is in the journal (the OS page cache), before it is in the store. It
// never waits for the store: while the store is slow or down, rows queue
// in memory (and stay in the journal).
func (w *Writer) Write(row store.AuditRow) error {
	buf := linePool.Get().(*[]byte)
	defer linePool.Put(buf)
	b := append(appendRowJSON((*buf)[:0], &row), '\n')
	*buf = b
	w.mu.Lock()
	if w.f == nil {
		w.mu.Unlock()
		return errors.New("audit: writer closed")
	}
	if _, err := w.f.Write(b); err != nil {
		w.mu.Unlock()
		return fmt.Errorf("audit: journal: %w", err)
	}
	w.size += int64(len(b))
	w.queue = append(w.queue, row)
	n := len(w.queue) - w.head
	w.mu.Unlock()
	if n == 1 || n == maxBatch {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// linePool holds journal line buffers: a line is built, written and done
// with within one Write call.
var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// flushInterval is how long a batch may wait to fill once its first row
// is queued. Without it, on a busy single core the writer would wake for
// nearly every row and pay a transaction each; rows wait safely in the
// journal meanwhile.
const flushInterval = 50 * time.Millisecond

// maxBatch bounds the rows appended in one transaction.
const maxBatch = 512

func (w *Writer) run() {
	defer w.wg.Done()
	batch := make([]store.AuditRow, 0, maxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	closing := false
	for {
		w.mu.Lock()
		n := len(w.queue) - w.head
		w.mu.Unlock()
		if n == 0 {
			if closing {
				return
			}
			select {
			case <-w.wake:
			case <-w.done:
				closing = true
			}
			continue
		}
		if n < maxBatch && !closing {
			timer.Reset(flushInterval)
			select {
			case <-timer.C:
			case <-w.wake: // maxBatch rows are queued
				timer.Stop()
			case <-w.done:
				timer.Stop()
				closing = true
			}
		}
		w.mu.Lock()
		batch = append(batch[:0], w.queue[w.head:min(len(w.queue), w.head+maxBatch)]...)
		w.mu.Unlock()
		ok := w.append(batch)
		w.mu.Lock()
		if !ok {
			w.unsaved = true
		}
		w.dropLocked(len(batch))
		// Everything queued is stored: the journal can start afresh. (It
		// is emptied only now and then; replay skips rows already stored.)
		if w.head == len(w.queue) && !w.unsaved && w.f != nil && w.size > 1<<20 {
			if err := w.f.Truncate(0); err != nil {
				w.log.Warn("audit: journal truncate", "err", err)
			}
			w.size = 0
		}
		w.mu.Unlock()
	}
}

// dropLocked removes the n oldest queued rows. The rest move to the front
// only once the dropped part is half the queue, so a backlog is not copied
// on every batch.
func (w *Writer) dropLocked(n int) {
	clear(w.queue[w.head : w.head+n])
	w.head += n
	if w.head == len(w.queue) {
		w.queue, w.head = w.queue[:0], 0
	} else if w.head >= len(w.queue)/2 {
		m := copy(w.queue, w.queue[w.head:])
		clear(w.queue[m:])
		w.queue, w.head = w.queue[:m], 0
	}
}

// append stores a batch in one transaction, retrying while the store is
// unavailable. It returns false when it gave up (the writer is closing):
// the rows stay in the journal for the next start.
func (w *Writer) append(rows []store.AuditRow) bool {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.st.AppendAuditBatch(ctx, rows, Hash)
		cancel()
		if err == nil {
			return true
		}
		w.log.Error("audit append failed; retrying", "rows", len(rows), "err", err)
		select {
		case <-w.done:
			if attempt > 3 {
				return false
			}
		case <-time.After(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond):
		}
	}
}

// Close stores what is queued and closes the journal, emptied unless rows
// could not be stored.
func (w *Writer) Close() error {
	close(w.done)
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	if !w.unsaved {
		err = w.f.Truncate(0)
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}

var _ io.Closer = (*Writer)(nil)
