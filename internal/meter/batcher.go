package meter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// run is the batcher: it waits for records, lets a batch fill for up to
// FlushInterval, commits it (retrying with backoff, never dropping) and
// checkpoints the journal.
func (r *Recorder) run() {
	defer close(r.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-r.abandoned:
			// Close gave up waiting: abandoning the attempt in flight is
			// safe because its records stay in the journal.
			cancel()
		case <-ctx.Done():
		}
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		r.mu.Lock()
		n, closing := len(r.queue)-r.head, r.closed
		r.mu.Unlock()
		if n == 0 {
			if closing {
				return
			}
			select {
			case <-r.wake:
			case <-r.stop:
			}
			continue
		}
		if n < r.opt.BatchSize && !closing {
			timer.Reset(r.opt.FlushInterval)
			select {
			case <-timer.C:
			case <-r.wake: // the batch filled up (or Record woke an empty queue)
				if !timer.Stop() {
					<-timer.C
				}
			case <-r.stop:
			}
		}
		if !r.commitBatch(ctx) {
			return
		}
	}
}

// commitBatch commits the oldest batch, retrying until it succeeds or the
// recorder is closed and Close stopped waiting (it returns false then).
func (r *Recorder) commitBatch(ctx context.Context) bool {
	r.mu.Lock()
	batch := r.queue[r.head:min(len(r.queue), r.head+r.opt.BatchSize)]
	r.mu.Unlock()
	// Record may append to the queue (and move it) meanwhile: batch is a
	// view of the old array, whose items nothing else writes until they
	// are dropped below.
	b := store.Batch{Hash: r.opt.AuditHash}
	for i := range batch {
		if e := &batch[i].e; e.hasRec {
			b.Usage = append(b.Usage, e.rec)
		}
		if e := &batch[i].e; e.hasRow {
			b.Audit = append(b.Audit, e.row)
		}
	}
	backoff := 50 * time.Millisecond
	for {
		start := time.Now()
		_, err := r.opt.Store.Commit(ctx, b)
		if r.opt.OnBatch != nil {
			r.opt.OnBatch(len(batch), time.Since(start), err)
		}
		if err == nil {
			break
		}
		r.mu.Lock()
		r.stats.Failures++
		r.mu.Unlock()
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return false
		}
		// The commit's reply may have been lost after it succeeded: the
		// retry skips what is stored.
		b.Replay = true
		r.log.Error("record batch not committed; retrying (records are safe in the journal)", "entries", len(batch), "err", err)
		select {
		case <-time.After(backoff):
		case <-r.abandoned:
			return false
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	r.mu.Lock()
	for i := range batch {
		batch[i].seg.committed++
	}
	// Drop the committed items. Moving the rest to the front on every
	// batch would copy the whole backlog each time (quadratic when the
	// database falls behind); it is done only once the committed part is
	// at least half the queue, so each item moves O(1) times on average.
	clear(r.queue[r.head : r.head+len(batch)])
	r.head += len(batch)
	if r.head == len(r.queue) {
		r.queue, r.head = r.queue[:0], 0
	} else if r.head >= len(r.queue)/2 {
		n := copy(r.queue, r.queue[r.head:])
		clear(r.queue[n:])
		r.queue, r.head = r.queue[:n], 0
	}
	r.stats.Committed += int64(len(batch))
	r.stats.Pending -= int64(len(batch))
	done := r.checkpointLocked()
	r.mu.Unlock()
	// File-system work, without mu (see removeSegments).
	r.removeSegments(done)
	r.makeSpare()
	return true
}

// retireBytes is the size from which a current segment whose records are
// all committed is swapped for the spare and removed, so that the journal
// a killed process leaves holds little that is already stored.
const retireBytes = 1 << 20

// checkpointLocked takes out of use the rotated segments whose records are
// all committed, and the current one once it is all committed, holds at
// least retireBytes (or SegmentBytes, if smaller) and the spare can
// replace it. It returns them for removeSegments, which runs without mu.
// (The current segment used to be truncated in place under mu: every Log
// call then waited for the file system, which on a disk mounted with
// discard frees the blocks with a synchronous discard request.)
func (r *Recorder) checkpointLocked() []*segment {
	var done []*segment
	keep := r.old[:0]
	for _, s := range r.old {
		if s.committed == s.written {
			done = append(done, s)
		} else {
			keep = append(keep, s)
		}
	}
	clear(r.old[len(keep):])
	r.old = keep
	// A group's write (and fsync) runs without mu (r.writing): the
	// current file is not swapped out from under it.
	if c := r.cur; c.size >= min(r.opt.SegmentBytes, retireBytes) && c.committed == c.written &&
		len(r.old) == 0 && r.spare != nil && !r.writing {
		done = append(done, c)
		r.cur, r.spare = r.spare, nil
	}
	return done
}

// Close stops accepting records and waits until every queued record is
// committed or ctx is done. In the latter case the records stay in the
// journal and the next start recovers them.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	r.closed = true
	// Groups already joined are written (and queued) before the batcher
	// is told to drain.
	for r.writing || r.filling != nil {
		if !r.writing {
			r.writeGroupLocked()
			continue
		}
		r.wrote.Wait()
	}
	r.mu.Unlock()
	close(r.stop)
	var err error
	select {
	case <-r.done:
	case <-ctx.Done():
		close(r.abandoned)
		<-r.done
		err = fmt.Errorf("meter: close: %d records left in the journal for the next start: %w", r.Stats().Pending, ctx.Err())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var done []*segment
	for _, s := range append(r.old, r.cur, r.spare) {
		if s == nil {
			continue
		}
		if s.committed == s.written {
			done = append(done, s)
		} else if s.f != nil {
			s.f.Close()
		}
	}
	r.old, r.cur, r.spare = nil, nil, nil
	r.removeSegments(done)
	r.lock.Close()
	return err
}
