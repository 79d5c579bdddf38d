package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// exporter batches ended spans and posts them to an OTLP/HTTP collector
// as protobuf ExportTraceServiceRequests. A span is encoded once, by the
// goroutine that ends it, straight onto the pending batch; one background
// goroutine sends the batch when it holds batchSpans spans or every
// interval, so a request never waits on the collector.
type exporter struct {
	url      string
	headers  map[string]string
	gzip     bool
	timeout  time.Duration
	client   *http.Client
	log      *slog.Logger
	interval time.Duration
	// head is the encoded Resource and InstrumentationScope every request
	// starts with (fixed at New).
	resource, scope []byte

	mu      sync.Mutex // guards the following fields
	buf     []byte     // pending spans, each as ScopeSpans.spans (tag, length, Span)
	spare   []byte     // the buffer of the last export, reused
	n       int        // spans in buf
	dropped int        // spans dropped since the last export (queue full)
	closed  bool

	kick     chan struct{} // buf reached batchSpans (capacity 1)
	flushes  chan flushReq // ForceFlush and Shutdown
	stopping chan struct{} // closed by Shutdown: stop retrying
	done     chan struct{} // closed when run returns
	scratch  sync.Pool     // *[]byte: a span's encoding before it is queued
	stopOnce sync.Once
}

// Limits, as the OpenTelemetry SDK's batch span processor's defaults: a
// batch of up to 512 spans every 5 s, and up to 2048 spans (or 8 MiB)
// waiting while an export is in flight; more are dropped and counted.
const (
	batchSpans  = 512
	queueSpans  = 2048
	queueBytes  = 8 << 20
	maxBackoff  = 30 * time.Second
	maxRetrying = time.Minute
)

type flushReq struct {
	ctx  context.Context
	stop bool
	done chan error
}

func (e *exporter) start() {
	e.kick = make(chan struct{}, 1)
	e.flushes = make(chan flushReq)
	e.stopping = make(chan struct{})
	e.done = make(chan struct{})
	go e.run()
}

// add queues an ended span.
func (e *exporter) add(s *Span) {
	bp, _ := e.scratch.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	enc := appendSpan((*bp)[:0], s)
	e.mu.Lock()
	switch {
	case e.closed:
	case e.n >= queueSpans || len(e.buf)+len(enc) > queueBytes:
		e.dropped++
	default:
		e.buf = append(e.buf, tag(fScopeSpansSpans, protowire.BytesType))
		e.buf = protowire.AppendBytes(e.buf, enc)
		e.n++
		if e.n == batchSpans {
			select {
			case e.kick <- struct{}{}:
			default:
			}
		}
	}
	e.mu.Unlock()
	if cap(enc) <= 64<<10 { // a span with a 32 KiB prompt is not kept
		*bp = enc
		e.scratch.Put(bp)
	}
}

func (e *exporter) run() {
	defer close(e.done)
	tick := time.NewTicker(e.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			e.export(context.Background(), true)
		case <-e.kick:
			e.export(context.Background(), true)
		case r := <-e.flushes:
			err := e.export(r.ctx, !r.stop)
			if r.stop {
				e.client.CloseIdleConnections()
				r.done <- err
				return
			}
			r.done <- err
		}
	}
}

// export sends what is pending, retrying (when retry) what the collector
// could not take yet.
func (e *exporter) export(ctx context.Context, retry bool) error {
	e.mu.Lock()
	spans, n, dropped := e.buf, e.n, e.dropped
	e.buf, e.n, e.dropped = e.spare[:0], 0, 0
	e.spare = nil
	e.mu.Unlock()
	if dropped > 0 {
		e.log.Warn("tracing: export queue full, spans dropped", "dropped", dropped)
	}
	if n == 0 {
		e.keep(spans)
		return nil
	}
	err := e.post(ctx, e.head(len(spans)), spans, retry)
	e.keep(spans)
	if err != nil {
		e.log.Warn("tracing: export failed, spans dropped", "spans", n, "error", err)
	}
	return err
}

// keep makes b, no longer referenced, the next spare buffer.
func (e *exporter) keep(b []byte) {
	if cap(b) > queueBytes {
		return
	}
	e.mu.Lock()
	if e.spare == nil {
		e.spare = b[:0]
	}
	e.mu.Unlock()
}

// head is what goes before n bytes of encoded spans to make an
// ExportTraceServiceRequest with one ResourceSpans and one ScopeSpans.
// The spans are sent from the batch buffer as they are, not copied behind
// it (a copy was some 500 bytes of garbage per span).
func (e *exporter) head(n int) []byte {
	ss := 1 + protowire.SizeBytes(len(e.scope)) + n
	rs := 1 + protowire.SizeBytes(len(e.resource)) + 1 + protowire.SizeBytes(ss)
	b := make([]byte, 0, 1+protowire.SizeBytes(rs)-n)
	b = append(b, tag(fRequestResourceSpans, protowire.BytesType))
	b = protowire.AppendVarint(b, uint64(rs))
	b = appendBytesField(b, fResourceSpansResource, e.resource)
	b = append(b, tag(fResourceSpansScope, protowire.BytesType))
	b = protowire.AppendVarint(b, uint64(ss))
	return appendBytesField(b, fScopeSpansScope, e.scope)
}

// post sends one export. The collector's 429, 502, 503 and 504 (and
// connection failures) are retried with exponential backoff (or its
// Retry-After) for up to a minute, as the OTLP specification asks; not
// after Shutdown began.
func (e *exporter) post(ctx context.Context, head, spans []byte, retry bool) error {
	if e.gzip {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(head)
		zw.Write(spans)
		zw.Close()
		head, spans = zb.Bytes(), nil
	}
	backoff, start := time.Second, time.Now()
	for {
		wait, err := e.postOnce(ctx, head, spans)
		if err == nil || wait < 0 || !retry {
			return err
		}
		if wait == 0 {
			wait = backoff
			backoff = min(2*backoff, maxBackoff)
		}
		if time.Since(start)+wait > maxRetrying {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-e.stopping:
			t.Stop()
			return err
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// postOnce makes one attempt. wait says what may be retried: -1 never, 0
// after a backoff, more after that long (Retry-After).
func (e *exporter) postOnce(ctx context.Context, head, spans []byte) (wait time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	body := func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(bytes.NewReader(head), bytes.NewReader(spans))), nil
	}
	r, _ := body()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, r)
	if err != nil {
		return -1, err
	}
	req.ContentLength, req.GetBody = int64(len(head)+len(spans)), body
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", "fulcrum-otlp")
	if e.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("telemetry: otlp export: %w", err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 2:
		if rejected, msg := partialSuccess(rb); rejected > 0 || msg != "" {
			e.log.Warn("tracing: collector rejected spans", "rejected", rejected, "message", msg)
		}
		return 0, nil
	case resp.StatusCode == 429 || resp.StatusCode == 502 || resp.StatusCode == 503 || resp.StatusCode == 504:
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = min(time.Duration(s)*time.Second, maxBackoff)
		}
		return wait, fmt.Errorf("telemetry: otlp export: collector answered %s", resp.Status)
	}
	return -1, fmt.Errorf("telemetry: otlp export: collector answered %s", resp.Status)
}

// partialSuccess reads an ExportTraceServiceResponse's partial_success
// (field 1: rejected_spans = 1, error_message = 2). The collector may
// answer in protobuf or, when it ignores our Content-Type, not at all.
func partialSuccess(b []byte) (rejected int64, msg string) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, ""
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			ps, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, ""
			}
			b = b[n:]
			for len(ps) > 0 {
				num, typ, n := protowire.ConsumeTag(ps)
				if n < 0 {
					break
				}
				ps = ps[n:]
				switch {
				case num == 1 && typ == protowire.VarintType:
					v, n := protowire.ConsumeVarint(ps)
					if n < 0 {
						return rejected, msg
					}
					rejected, ps = int64(v), ps[n:]
				case num == 2 && typ == protowire.BytesType:
					v, n := protowire.ConsumeString(ps)
					if n < 0 {
						return rejected, msg
					}
					msg, ps = v, ps[n:]
				default:
					n := protowire.ConsumeFieldValue(num, typ, ps)
					if n < 0 {
						return rejected, msg
					}
					ps = ps[n:]
				}
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return rejected, msg
		}
		b = b[n:]
	}
	return rejected, msg
}

// flush exports what is pending and waits for it; stop also ends the
// background goroutine (after which spans are dropped).
func (e *exporter) flush(ctx context.Context, stop bool) error {
	if stop {
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		e.stopOnce.Do(func() { close(e.stopping) })
	}
	r := flushReq{ctx: ctx, stop: stop, done: make(chan error, 1)}
	select {
	case e.flushes <- r:
	case <-e.done:
		if stop {
			return nil
		}
		return errors.New("telemetry: tracer shut down")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
