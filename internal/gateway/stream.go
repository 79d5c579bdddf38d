package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/cache"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// openStream is a stream whose first event has been read: the point after
// which a fallback is no longer possible.
type openStream struct {
	t     *Target
	n     int
	start time.Time
	ttft  time.Duration
	// canonical path
	st    provider.Stream
	first *llm.Chunk
	// pass-through path
	resp    *http.Response
	dec     *sse.Decoder
	firstEv sse.Event
	tap     usageTap
	// text is what the stream delivered (pass-through), for estimating
	// usage if it ends early.
	text []byte
}

// stream serves a streaming chat request. Attempts (and so fallbacks) end
// when the first event arrives; nothing has reached the client before that.
func (c *chatCall) stream(w http.ResponseWriter, r *http.Request) error {
	if c.plan.Cascade() != nil {
		// stream: buffer — the cheap answer is checked whole, then the
		// accepted one is replayed as a stream.
		resp, t, err := c.cascade(r.Context())
		if err != nil {
			return c.routeErr(err)
		}
		c.cacheStore(t, resp, c.rc.usage)
		var live *llm.ChatResponse
		if c.shadow != nil {
			live = cache.Clone(resp) // replay restores resp
		}
		c.keepResponse(r.Context(), resp)
		c.rememberThoughts(t, resp)
		c.writeStreamHeaders(w, t)
		c.settle() // every attempt and judge call is in
		c.replay(newFlushWriter(w), resp)
		c.shadowOffer(t, live, c.rc.usage)
		c.setCost(w.Header())
		return nil
	}
	var os *openStream
	t, err := c.run(r.Context(), func(ctx context.Context, t *Target, pm policy.Permit, n int) error {
		o, err := c.open(ctx, t, pm, n)
		if err != nil {
			c.report(ctx, t, n, o.start, 0, nil, err)
			return err
		}
		os = o
		return nil
	})
	if err != nil {
		return c.routeErr(err)
	}
	c.writeStreamHeaders(w, t)
	fw := newFlushWriter(w)
	if os.st != nil {
		c.pumpCanonical(r.Context(), fw, os)
	} else {
		c.pumpRaw(r.Context(), fw, os)
	}
	c.setCost(w.Header()) // the trailer writeStreamHeaders declared
	return nil
}

func (c *chatCall) writeStreamHeaders(w http.ResponseWriter, t *Target) {
	c.served = t
	c.rc.provider = t.Provider.Info().Name
	h := w.Header()
	h["Content-Type"] = hdrEventStream
	h["Cache-Control"] = hdrNoCache
	h.Set("X-Fulcrum-Provider", c.rc.provider)
	c.noteDropped(h, t)
	h["X-Accel-Buffering"] = hdrNo
	h["Trailer"] = hdrTrailerCost
	w.WriteHeader(http.StatusOK)
}

// replay streams a complete answer (a buffered cascade answer).
func (c *chatCall) replay(fw *flushWriter, resp *llm.ChatResponse) {
	if c.verdict != nil && c.verdict.Redacts() {
		c.verdict.Restore(resp)
	}
	id := resp.ID
	if id == "" {
		id = c.rc.id
	}
	enc := c.rc.format.newStream(c, id, resp.Model, c.s.opts.Now().Unix())
	buf := fw.buf[:0]
	buf = enc.Append(buf, &llm.Chunk{ID: id, Model: resp.Model, Role: llm.RoleAssistant})
	if len(resp.Choices) > 0 {
		ch := &resp.Choices[0]
		for _, t := range ch.Message.Thoughts {
			buf = enc.Append(buf, &llm.Chunk{Reasoning: t.Text, Signature: t.Signature, Redacted: t.Redacted})
		}
		if text := ch.Message.Text(); text != "" {
			buf = enc.Append(buf, &llm.Chunk{Text: text})
		}
		for i, tc := range ch.Message.ToolCalls {
			buf = enc.Append(buf, &llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: i, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments}}})
		}
		buf = enc.Append(buf, &llm.Chunk{FinishReason: ch.FinishReason, StopSequence: resp.StopSequence, Usage: resp.Usage})
	}
	buf = enc.Done(buf)
	fw.write(buf)
}

// open starts one attempt and reads its first event.
func (c *chatCall) open(ctx context.Context, t *Target, pm policy.Permit, n int) (*openStream, error) {
	s := c.s
	o := &openStream{t: t, n: n, start: s.opts.Now()}
	name := t.Provider.Info().Name
	if c.passThrough(t) {
		body, err := c.forwardBody(t)
		if err != nil {
			return o, err
		}
		resp, err := t.Provider.Forward(ctx, pm, &provider.RawRequest{Path: c.rc.format.path + c.rc.query, Body: body, Header: forwardHeaders(c.rc), Stream: true})
		if err != nil {
			return o, err
		}
		if resp.StatusCode/100 != 2 {
			defer resp.Body.Close()
			return o, c.mapRawError(t, resp)
		}
		o.resp, o.dec = resp, sse.NewDecoder(resp.Body)
		o.tap = c.rc.format.newTap(c.req.IncludeUsage)
		ev, err := o.dec.Next()
		if err != nil {
			resp.Body.Close()
			if ctx.Err() != nil {
				return o, provider.TransportError(ctx, ctx.Err())
			}
			return o, provider.StreamCut(name, err)
		}
		o.firstEv = sse.Event{Event: ev.Event, Data: append([]byte(nil), ev.Data...), ID: ev.ID}
		o.ttft = s.opts.Now().Sub(o.start)
		return o, nil
	}
	if err := c.translatable(t); err != nil {
		return o, err
	}
	st, err := c.streamUpstream(ctx, t, pm)
	if err != nil {
		return o, err
	}
	first, err := st.Recv()
	if err != nil {
		st.Close()
		if errors.Is(err, io.EOF) {
			err = provider.StreamCut(name, err)
		}
		return o, err
	}
	o.st, o.first, o.ttft = st, first, s.opts.Now().Sub(o.start)
	return o, nil
}

// pumpCanonical converts canonical chunks to the client's format.
func (c *chatCall) pumpCanonical(ctx context.Context, fw *flushWriter, o *openStream) {
	s := c.s
	defer o.st.Close()
	model := o.first.Model
	if model == "" {
		model = o.t.Upstream
	}
	id := o.first.ID
	if id == "" {
		id = c.rc.id
	}
	enc := c.rc.format.newStream(c, id, model, s.opts.Now().Unix())
	var restorer StreamRestorer
	if c.verdict != nil && c.verdict.Redacts() {
		restorer = c.verdict.NewStreamRestorer()
	}
	var (
		usage  *llm.Usage
		out    strings.Builder // output text, for estimates only
		buf    = fw.buf[:0]
		finish string // for the trace
	)
	var cb, kb *cache.Builder
	if c.cache.on {
		cb = cache.NewBuilder(c.s.opts.Cache.MaxEntryBytes())
	} else if c.shadow != nil {
		cb = cache.NewBuilder(maxShadowAnswer)
	}
	if c.keepsResponse() {
		// The answer as the target gave it (before restoring), to store.
		kb = cache.NewBuilder(c.s.opts.MaxBodyBytes)
	}
	// The thought tap starts with the first reasoning (Claude thinks
	// before it calls a tool): a stream without any allocates none.
	var tt *thoughtTap
	keepThoughts := c.keepsSignatures()
	emit := func(ch *llm.Chunk) {
		if ch.Usage != nil {
			usage = ch.Usage
		}
		if ch.FinishReason != "" {
			finish = ch.FinishReason
		}
		if cb != nil {
			cb.Add(ch)
		}
		if kb != nil {
			kb.Add(ch)
		}
		if tt == nil && keepThoughts && c.tapsThoughts(ch) {
			tt = &thoughtTap{}
		}
		if tt != nil {
			tt.add(ch)
		}
		// Kept whatever the usage so far: a stream that ends early is
		// estimated from it (cutUsage).
		out.WriteString(ch.Text)
		for _, tc := range ch.ToolCalls {
			out.WriteString(tc.Arguments)
		}
		if restorer != nil {
			for _, rc := range restorer.Process(ch) {
				buf = enc.Append(buf, &rc)
			}
			return
		}
		buf = enc.Append(buf, ch)
	}
	ch := o.first
	var err error
	for {
		emit(ch)
		if len(buf) > 0 {
			if werr := fw.write(buf); werr != nil {
				err = werr
				break
			}
			buf = buf[:0]
		}
		ch, err = o.st.Recv()
		if err != nil {
			break
		}
	}
	if restorer != nil {
		for _, rc := range restorer.Flush() {
			buf = enc.Append(buf, &rc)
		}
	}
	if errors.Is(err, io.EOF) {
		if usage == nil {
			usage = s.estimate(c.req, out.String())
			buf = enc.Append(buf, &llm.Chunk{Usage: usage})
		}
		c.rc.usage = usage
		c.traceStreamEnd(id, model, finish, out.String())
		// Record before the final bytes go out: a client that saw the end
		// of the stream has a record.
		c.report(ctx, o.t, o.n, o.start, o.ttft, usage, nil)
		c.settle() // before the end reaches the client, as writeAnswer does
		var live *llm.ChatResponse
		if cb != nil {
			cb.Add(&llm.Chunk{Usage: usage})
			live = cb.Response()
			c.cacheStore(o.t, live, usage)
		}
		if kb != nil {
			kb.Add(&llm.Chunk{Usage: usage})
			c.keepResponse(ctx, kb.Response())
		}
		if tt != nil {
			tt.remember(c, o.t)
		}
		buf = enc.Done(buf)
		fw.write(buf)
		c.shadowOffer(o.t, live, usage)
		return
	}
	f, _ := enc.(failer)
	c.endWithError(ctx, fw, buf, o, c.cutUsage(usage, out.String()), err, f)
}

// endWithError records a stream that failed after its first byte (usage
// estimated from what was delivered when the upstream reported none, see
// cutUsage) and ends the client's stream with an error event (never a fake
// [DONE]); f, when not nil, writes that event.
func (c *chatCall) endWithError(ctx context.Context, fw *flushWriter, buf []byte, o *openStream, usage *llm.Usage, err error, f failer) {
	name := o.t.Provider.Info().Name
	if ctx.Err() != nil || errors.Is(err, errClientGone) {
		err = provider.TransportError(ctx, context.Canceled)
		c.rc.status = 499
	} else {
		var le *llm.Error
		if !errors.As(err, &le) {
			err = provider.StreamCut(name, err)
		}
		c.rc.status = llm.AsError(err).Status
	}
	e := llm.AsError(err)
	c.rc.errCode = e.Code
	c.rc.usage = usage
	c.report(ctx, o.t, o.n, o.start, o.ttft, usage, e)
	c.settle()
	if c.rc.status != 499 {
		c.s.log.Warn("stream failed", "request_id", c.rc.id, "provider", name, "err", err)
		if f != nil {
			buf = f.Fail(buf, e)
		} else {
			buf = c.rc.format.streamError(buf, e)
		}
		fw.write(buf)
	}
}

// pumpRaw forwards a same-format stream event by event, watching usage.
func (c *chatCall) pumpRaw(ctx context.Context, fw *flushWriter, o *openStream) {
	defer o.resp.Body.Close()
	buf := fw.buf[:0]
	// ev is the stream's own first event, overwritten by each next one:
	// a local would escape to the heap (the tap takes its address).
	ev := &o.firstEv
	var err error
	// The trace's answer metadata, read only when the span records.
	tracing := c.att.Recording()
	var id, model, finish string
	if tracing {
		id, model, _ = scanMeta(ev.Data)
	}
	// Room for a short answer's text at once, instead of growing from 8
	// bytes by doubling.
	o.text = make([]byte, 0, deliveredBufSize)
	for {
		if tracing {
			if f := rawFinish(ev.Data); f != "" {
				finish = f
			}
		}
		if o.tap.Event(ev) {
			o.text = appendDelivered(o.text, c.rc.format.name, ev)
			buf = sse.AppendEvent(buf, ev.Event, ev.Data)
			if o.tap.Complete() {
				// Record before the terminal event reaches the client.
				c.rc.usage = o.tap.Usage()
				if rt, ok := o.tap.(*responsesTap); ok {
					c.keepUpstreamResponse(ctx, rt.id, rt.model, rt.items)
				}
				if tracing {
					c.traceStreamEndRaw(id, model, finish, o.text)
				}
				c.report(ctx, o.t, o.n, o.start, o.ttft, c.rc.usage, nil)
				c.settle() // before the terminal event, as writeAnswer does
				fw.write(buf)
				return
			}
			// Events that arrived together go out together: flush when
			// nothing complete is waiting, never hold an event back.
			if !o.dec.Buffered() {
				if werr := fw.write(buf); werr != nil {
					err = werr
					break
				}
				buf = buf[:0]
			}
		}
		*ev, err = o.dec.Next()
		if err != nil {
			break
		}
	}
	if len(buf) > 0 && err != errClientGone {
		fw.write(buf)
		buf = buf[:0]
	}
	if errors.Is(err, io.EOF) {
		err = provider.StreamCut(o.t.Provider.Info().Name, err)
	}
	f, _ := o.tap.(failer)
	c.endWithError(ctx, fw, buf[:0], o, c.cutUsage(o.tap.Usage(), string(o.text)), err, f)
}

// flushWriter writes and flushes each event at once.
type flushWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf []byte
}

// flushBufSize is the first capacity of a stream's framing buffer. The
// pumps batch the events the SSE decoder already holds complete, and its
// buffer is 1 KB (sse.readSize), so a batch rarely outgrows this. A stream
// holds the buffer for its whole life: the previous 2 KB was 2 MB of heap
// per 1,000 streams.
const flushBufSize = 1 << 10

// deliveredBufSize is the first capacity of a pass-through stream's
// delivered text (openStream.text).
const deliveredBufSize = 256

func newFlushWriter(w http.ResponseWriter) *flushWriter {
	return &flushWriter{w: w, rc: http.NewResponseController(w), buf: make([]byte, 0, flushBufSize)}
}

func (f *flushWriter) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := f.w.Write(b); err != nil {
		return errClientGone
	}
	if err := f.rc.Flush(); err != nil {
		return errClientGone
	}
	return nil
}
