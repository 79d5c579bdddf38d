package meter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("meter: recorder closed")

// RecorderOptions configure a Recorder. Zero fields take the defaults.
type RecorderOptions struct {
	// Store receives the records. Required.
	Store store.Store
	// Dir holds the journal (e.g. DATA_DIR/journal). Required; created if
	// missing. One process per directory (it is locked).
	Dir string
	// BatchSize is the most records committed in one transaction. Default 500.
	BatchSize int
	// FlushInterval is how long a batch may wait to fill. Default 50ms.
	FlushInterval time.Duration
	// Fsync makes Record wait until its line is fsynced, in groups, so
	// records survive power loss too. Default false: records survive the
	// process being killed, not the machine losing power.
	Fsync bool
	// SegmentBytes is the journal segment size at which a new one starts.
	// Default 8 MiB.
	SegmentBytes int64
	Logger       *slog.Logger
	// AuditHash chains audit rows (audit.Hash). Required to Log audit rows.
	AuditHash func(prevHash string, row *store.AuditRow) string
	// OnBatch, when set, is called after each commit attempt with the
	// batch size (usage records plus audit rows), its duration and the error (nil on success): a hook for
	// metrics. It must not block.
	OnBatch func(n int, took time.Duration, err error)

	// removeFile removes a journal segment (os.Remove); tests make it
	// block to show that no record waits for it.
	removeFile func(name string) error
	// writeFile writes a group of journal lines (f.Write); tests count
	// and block it.
	writeFile func(f *os.File, b []byte) (int, error)
}

// RecorderStats are the recorder's counters.
type RecorderStats struct {
	// Recorded counts records journaled since start; Committed those the
	// store accepted (replays included); Pending = journaled, not committed.
	Recorded, Committed, Pending int64
	// Failures counts failed commit attempts (each is retried).
	Failures int64
	// Recovered counts records replayed from the journal at start.
	Recovered int64
}

type segment struct {
	id                 int64
	f                  *os.File
	size               int64
	written, committed int64
}

type item struct {
	e   entry
	seg *segment
}

// Recorder records usage and audit rows durably without making a response
// wait for the database: Log appends an attempt's usage record and audit
// row to a local journal as one line (one write(2), no
// fsync unless asked) and queues it; a background batcher commits groups to
// the store in one transaction each and truncates or removes journal
// segments whose records are all committed. Records left in the journal by
// a killed process are replayed at the next start (NewRecorder calls
// Recover); the store ignores a record it already has.
type Recorder struct {
	opt  RecorderOptions
	log  *slog.Logger
	lock *os.File

	mu      sync.Mutex // guards the following fields
	cur     *segment
	old     []*segment // rotated segments, removed by the batcher once committed
	spare   *segment   // an empty segment made ahead by the batcher, so rotating is a swap
	queue   []item     // queue[head:] awaits a commit
	head    int
	nextSeg int64
	closed  bool
	stats   RecorderStats
	// The group write (see Log): lines waiting for the next write(2), the
	// queue items they become once it returns, the group's result, and
	// whether a write is under way (it then owns cur's file, and the
	// batcher does not retire cur).
	filling   *group
	pend      []byte
	pendItems []item
	writing   bool
	wrote     *sync.Cond // signalled when a group's write returns
	// freeBuf and freeItems are the last group's, emptied, for reuse.
	freeBuf   []byte
	freeItems []item

	abandoned chan struct{} // closed when Close stops waiting for the drain

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// NewRecorder recovers what a previous process left in opt.Dir, then starts
// the batcher. Close stops it.
func NewRecorder(ctx context.Context, opt RecorderOptions) (*Recorder, error) {
	if opt.Store == nil || opt.Dir == "" {
		return nil, errors.New("meter: recorder needs a store and a journal directory")
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = 50 * time.Millisecond
	}
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = 8 << 20
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.removeFile == nil {
		opt.removeFile = os.Remove
	}
	if opt.writeFile == nil {
		opt.writeFile = (*os.File).Write
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("meter: journal: %w", err)
	}
	lock, err := lockDir(opt.Dir)
	if err != nil {
		return nil, fmt.Errorf("meter: %w", err)
	}
	r := &Recorder{opt: opt, log: opt.Logger, lock: lock,
		wake: make(chan struct{}, 1), abandoned: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	r.wrote = sync.NewCond(&r.mu)
	n, last, err := recoverDir(ctx, opt.Dir, opt.Store, opt.BatchSize, opt.AuditHash, opt.Logger)
	if err != nil {
		lock.Close()
		return nil, err
	}
	r.stats.Recovered = int64(n)
	r.nextSeg = last + 1
	if err := r.rotateLocked(); err != nil {
		lock.Close()
		return nil, err
	}
	go r.run()
	return r, nil
}

// recoverDir commits to st every entry journaled in dir and removes the
// journal. It returns how many entries were found (those the store already
// had are not stored again) and the last segment's number. NewRecorder
// calls it before the batcher starts. hash chains audit rows.
func recoverDir(ctx context.Context, dir string, st store.Store, batch int, hash func(string, *store.AuditRow) string, log *slog.Logger) (found int, last int64, err error) {
	ids, err := segments(dir)
	if err != nil {
		return 0, 0, fmt.Errorf("meter: recover: %w", err)
	}
	for _, id := range ids {
		last = id
		path := segPath(dir, id)
		ents, bad, err := readSegment(path)
		if err != nil {
			return found, last, fmt.Errorf("meter: recover %s: %w", path, err)
		}
		if bad > 0 {
			// A torn last line is an entry whose Log call never returned.
			log.Warn("journal lines skipped", "segment", path, "lines", bad)
		}
		inserted := 0
		for i := 0; i < len(ents); i += batch {
			b := toBatch(ents[i:min(i+batch, len(ents))], hash)
			b.Replay = true
			if len(b.Audit) > 0 && hash == nil {
				return found, last, fmt.Errorf("meter: recover %s: audit rows in the journal and no audit hash", path)
			}
			n, err := st.Commit(ctx, b)
			if err != nil {
				return found, last, fmt.Errorf("meter: recover %s: %w", path, err)
			}
			inserted += n
		}
		found += len(ents)
		if len(ents) > 0 {
			log.Info("recovered records from journal", "segment", path, "entries", len(ents), "new_usage", inserted)
		}
		if err := os.Remove(path); err != nil {
			return found, last, fmt.Errorf("meter: recover: %w", err)
		}
	}
	return found, last, nil
}

// toBatch splits entries into a store batch.
func toBatch(ents []entry, hash func(string, *store.AuditRow) string) store.Batch {
	b := store.Batch{Hash: hash}
	for i := range ents {
		if ents[i].hasRec {
			b.Usage = append(b.Usage, ents[i].rec)
		}
		if ents[i].hasRow {
			b.Audit = append(b.Audit, ents[i].row)
		}
	}
	return b
}

// rotateLocked starts a new segment: the spare the batcher made ahead when
// there is one, so that a Log call holding mu does no file-system work
// beyond its write(2); a new file only when there is none (at start, or
// when segments fill faster than the batcher replaces the spare). The old
// segment joins r.old, which the batcher removes once it is committed.
func (r *Recorder) rotateLocked() error {
	next := r.spare
	if next == nil {
		f, err := os.OpenFile(segPath(r.opt.Dir, r.nextSeg), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("meter: journal: %w", err)
		}
		next = &segment{id: r.nextSeg, f: f}
		r.nextSeg++
	}
	if c := r.cur; c != nil {
		// With Fsync every group was synced before its callers returned.
		r.old = append(r.old, c)
	}
	r.spare = nil
	r.cur = next
	return nil
}

// removeSegments closes and removes segments no longer in use. It is
// called without mu: on a file system mounted with discard, freeing a
// file's blocks is a synchronous discard request to the disk, and any
// unlink updates the directory; no Log call may wait for either.
func (r *Recorder) removeSegments(segs []*segment) {
	for _, s := range segs {
		s.f.Close()
		if err := r.opt.removeFile(segPath(r.opt.Dir, s.id)); err != nil {
			r.log.Error("journal: remove segment", "err", err)
		}
	}
}

// makeSpare creates the next segment file ahead of need, without mu. Its
// number is taken under mu first; if a Log call had to create a segment
// meanwhile (so the spare would no longer be the newest), it is dropped,
// since recovery replays segments in number order.
func (r *Recorder) makeSpare() {
	r.mu.Lock()
	if r.spare != nil || r.closed {
		r.mu.Unlock()
		return
	}
	id := r.nextSeg
	r.nextSeg++
	r.mu.Unlock()
	f, err := os.OpenFile(segPath(r.opt.Dir, id), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o644)
	if err != nil {
		r.log.Error("journal: new segment", "err", err)
		return
	}
	s := &segment{id: id, f: f}
	r.mu.Lock()
	if r.spare == nil && !r.closed && r.nextSeg == id+1 {
		r.spare, s = s, nil
	}
	r.mu.Unlock()
	if s != nil {
		r.removeSegments([]*segment{s})
	}
}

// Record journals rec and queues it for the store: Log(rec, nil).
func (r *Recorder) Record(rec *Record) error { return r.Log(rec, nil) }

// Log journals an upstream attempt's usage record and its audit row as one
// line, and queues both for the store, where they are committed in one
// transaction. Either may be nil (an audit row without usage is a request
// that made no upstream call). When it returns nil both survive the
// process being killed (and, with Fsync, power loss). It never waits for
// the database. rec and row are copied; their slices must not be modified
// afterwards.
//
// Lines are written in groups: a call adds its line to the group being
// filled and, if no write is under way, writes the whole group with one
// write(2) (and one fsync with Fsync) without holding mu; calls arriving
// meanwhile fill the next group, which the first of them writes once the
// write before it returns. Every caller waits for its own group's write,
// so what it confirms is in the page cache, as with a write of its own;
// but when requests finish together (or a write stalls) they share one
// system call and are released together, where one write each under a
// mutex handed them through one at a time.
func (r *Recorder) Log(rec *Record, row *store.AuditRow) error {
	if rec == nil && row == nil {
		return nil
	}
	if row != nil && r.opt.AuditHash == nil {
		return errors.New("meter: audit row logged without RecorderOptions.AuditHash")
	}
	it := item{}
	if rec != nil {
		it.e.rec, it.e.hasRec = *rec, true
	}
	if row != nil {
		it.e.row, it.e.hasRow = *row, true
	}
	buf := linePool.Get().(*[]byte)
	line := appendLine((*buf)[:0], &it.e)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		*buf = line
		linePool.Put(buf)
		return ErrClosed
	}
	g := r.filling
	if g == nil {
		g = &group{}
		r.filling = g
	}
	r.pend = append(r.pend, line...)
	r.pendItems = append(r.pendItems, it)
	*buf = line
	linePool.Put(buf)
	for !g.done {
		if r.writing {
			r.wrote.Wait()
			continue
		}
		r.writeGroupLocked()
	}
	err := g.err
	r.mu.Unlock()
	return err
}

// group is the lines written by one write(2); done and err are set, under
// mu, when it returns.
type group struct {
	done bool
	err  error
}

// writeGroupLocked writes the group being filled, releasing mu for the
// write itself. The caller holds mu and no write is under way.
func (r *Recorder) writeGroupLocked() {
	g := r.filling
	r.filling = nil
	buf, items := r.pend, r.pendItems
	r.pend, r.pendItems = r.freeBuf[:0], r.freeItems[:0]
	r.writing = true
	var err error
	if r.cur.size > 0 && r.cur.size+int64(len(buf)) > r.opt.SegmentBytes {
		err = r.rotateLocked()
	}
	seg := r.cur
	n := 0
	if err == nil {
		r.mu.Unlock()
		n, err = r.opt.writeFile(seg.f, buf)
		if err != nil {
			err = fmt.Errorf("meter: journal: %w", err)
		} else if r.opt.Fsync {
			if err = seg.f.Sync(); err != nil {
				err = fmt.Errorf("meter: journal sync: %w", err)
			}
		}
		r.mu.Lock()
	}
	r.writing = false
	seg.size += int64(n)
	if err == nil {
		before := len(r.queue) - r.head
		for i := range items {
			items[i].seg = seg
			r.queue = append(r.queue, items[i])
		}
		seg.written += int64(len(items))
		r.stats.Recorded += int64(len(items))
		r.stats.Pending += int64(len(items))
		after := len(r.queue) - r.head
		if before == 0 || (before < r.opt.BatchSize && after >= r.opt.BatchSize) {
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
	}
	g.done, g.err = true, err
	clear(items)
	r.freeBuf, r.freeItems = buf[:0], items[:0]
	r.wrote.Broadcast()
}

// linePool holds journal line buffers: a line is built and copied into
// its group within one Log call.
var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Stats returns the counters.
func (r *Recorder) Stats() RecorderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}
