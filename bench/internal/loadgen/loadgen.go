// Package loadgen drives an OpenAI-compatible chat endpoint in a closed loop
// (N connections, each sending its next request when the last one is done)
// or an open loop (requests started on a fixed timetable whatever the
// target does, latency measured from the scheduled time), and summarises
// latency, time to first token and errors in HDR-style histograms.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fulcrumhq/fulcrum/bench/internal/hist"
)

// Config describes one run.
type Config struct {
	// URL is the full endpoint, e.g. http://127.0.0.1:18080/v1/chat/completions.
	URL string
	// Body is the request body; see Body.
	Body []byte
	// Header holds the request headers. It is shared by every request and
	// must not be changed during a run.
	Header http.Header
	// Stream reads the answer as server-sent events and records time to
	// first token.
	Stream bool
	// Conns is the number of connections of a closed-loop run. Default 32.
	Conns int
	// Rate, when > 0, makes the run open-loop at this many requests/s.
	Rate float64
	// Duration is the measured part of the run. Default 10s.
	Duration time.Duration
	// Warmup runs the same load for this long before measuring, unrecorded.
	Warmup time.Duration
	// MaxInFlight bounds concurrent requests of an open-loop run; requests
	// due while all are busy wait, and their wait counts in their latency.
	// Default 512.
	MaxInFlight int
	// Grace is how long requests still running when Duration ends may take
	// to finish before they are cancelled and counted as incomplete.
	// Default 5s.
	Grace time.Duration
	// Transport is used for every request. Default: NewTransport(max(Conns,
	// MaxInFlight)), whose connections are closed when Run returns.
	Transport http.RoundTripper
}

// Errors counts failed requests by kind.
type Errors struct {
	// Status: the response status was not 2xx.
	Status int64 `json:"status"`
	// Transport: no response (connection refused or reset, bad response).
	Transport int64 `json:"transport"`
	// Cut: a 2xx body ended early (a stream without "data: [DONE]", or a
	// read error).
	Cut int64 `json:"cut"`
	// Incomplete: still queued or running when the grace period ended.
	Incomplete int64 `json:"incomplete"`
}

// Total is the number of failed requests.
func (e Errors) Total() int64 { return e.Status + e.Transport + e.Cut + e.Incomplete }

func (e *Errors) add(o Errors) {
	e.Status += o.Status
	e.Transport += o.Transport
	e.Cut += o.Cut
	e.Incomplete += o.Incomplete
}

// Result is what a run measured.
type Result struct {
	Elapsed  time.Duration // from the start of measuring until the last request ended
	Requests int64         // requests due (open loop) or started (closed loop)
	OK       int64
	Errors   Errors
	// Latency of successful requests: to the end of the body (for streams,
	// the full stream), from the scheduled time in an open loop.
	Latency *hist.Histogram
	// TTFT of successful streams: to the first event with non-empty
	// content, from the same start as Latency.
	TTFT *hist.Histogram
	// Events counts data events (excluding [DONE]) of successful streams.
	Events int64
	// SendLate (open loop) is how late each request was started against
	// its due time: the load generator's own lateness (a wake-up or a
	// goroutine that waited for a CPU), plus waiting for a free worker
	// when MaxInFlight are busy. It is inside Latency already; a tail in
	// it is the harness's, or the machine's, not the target's.
	SendLate *hist.Histogram
	// Workers is how many request goroutines the run started (open loop:
	// grown on demand up to MaxInFlight; closed loop: Conns).
	Workers int
}

// RPS is successful requests per second of elapsed time.
func (r *Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// NewTransport is a keep-alive HTTP/1.1 transport with room for conns idle
// connections to one host, and no compression.
func NewTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     8 << 10,
		ReadBufferSize:      8 << 10,
	}
}

func (c *Config) defaults() {
	if c.Conns <= 0 {
		c.Conns = 32
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 512
	}
	if c.Grace <= 0 {
		c.Grace = 5 * time.Second
	}
	if c.Header == nil {
		c.Header = http.Header{"Content-Type": {"application/json"}}
	}
}

// Run performs the warm-up, if any, then the measured run.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	if cfg.URL == "" {
		return nil, errors.New("loadgen: no URL")
	}
	if cfg.Transport == nil {
		tr := NewTransport(max(cfg.Conns, cfg.MaxInFlight))
		defer tr.CloseIdleConnections()
		cfg.Transport = tr
	}
	if cfg.Warmup > 0 {
		w := cfg
		w.Duration = cfg.Warmup
		if _, err := run(ctx, w); err != nil {
			return nil, err
		}
	}
	return run(ctx, cfg)
}

func run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Rate > 0 {
		return runOpen(ctx, cfg), ctx.Err()
	}
	return runClosed(ctx, cfg), ctx.Err()
}

// worker holds one goroutine's buffers and tallies.
type worker struct {
	cfg    *Config
	lat    *hist.Histogram
	ttft   *hist.Histogram
	late   *hist.Histogram
	ok     int64
	n      int64
	events int64
	errs   Errors
	buf    []byte
	br     *bufio.Reader
}

func newWorker(cfg *Config) *worker {
	w := &worker{cfg: cfg, lat: hist.New(), late: hist.New(), buf: make([]byte, 16<<10)}
	if cfg.Stream {
		w.ttft = hist.New()
		w.br = bufio.NewReaderSize(nil, 16<<10)
	}
	return w
}

// merge folds the workers' tallies into one Result.
func merge(ws []*worker, elapsed time.Duration, stream bool) *Result {
	r := &Result{Elapsed: elapsed, Latency: hist.New(), SendLate: hist.New()}
	if stream {
		r.TTFT = hist.New()
	}
	for _, w := range ws {
		r.Requests += w.n
		r.OK += w.ok
		r.Events += w.events
		r.Errors.add(w.errs)
		r.Latency.Merge(w.lat)
		r.SendLate.Merge(w.late)
		if stream {
			r.TTFT.Merge(w.ttft)
		}
	}
	return r
}

func runClosed(ctx context.Context, cfg Config) *Result {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	end := start.Add(cfg.Duration)
	stop := time.AfterFunc(cfg.Duration+cfg.Grace, cancel)
	defer stop.Stop()
	ws := make([]*worker, cfg.Conns)
	var wg sync.WaitGroup
	for i := range ws {
		ws[i] = newWorker(&cfg)
		wg.Go(func() {
			w := ws[i]
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				w.do(ctx, t0)
			}
		})
	}
	wg.Wait()
	r := merge(ws, time.Since(start), cfg.Stream)
	r.Workers = len(ws)
	return r
}

// openStartWorkers is how many workers an open-loop run starts with;
// more are started while every one is busy, up to MaxInFlight.
const openStartWorkers = 16

func runOpen(ctx context.Context, cfg Config) *Result {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	total := int64(math.Floor(cfg.Rate*cfg.Duration.Seconds() + 1e-9))
	jobs := make(chan time.Time, min(max(total, 1), 1<<20))
	// Workers are started as they are needed, not MaxInFlight of them up
	// front: each holds ~120 KB of histograms and buffers, and allocating
	// 512 of them (60-90 MB) when the timetable starts stalled the first
	// requests of every run and left the run a large heap to collect, a
	// stall the open loop charged to the target.
	var (
		ws   []*worker
		idle atomic.Int64 // workers waiting for a job
		wg   sync.WaitGroup
	)
	spawn := func() {
		w := newWorker(&cfg)
		ws = append(ws, w)
		idle.Add(1)
		wg.Go(func() {
			for at := range jobs {
				idle.Add(-1)
				if ctx.Err() != nil {
					w.n++
					w.errs.Incomplete++
				} else {
					w.late.Record(int64(time.Since(at)))
					w.do(ctx, at)
				}
				idle.Add(1)
			}
		})
	}
	for range min(int64(openStartWorkers), int64(cfg.MaxInFlight), max(total, 1)) {
		spawn()
	}
	start := time.Now()
	tt := NewTimetable(start, cfg.Rate, cfg.Duration)
	stop := time.AfterFunc(cfg.Duration+cfg.Grace, cancel)
	defer stop.Stop()
	buf := make([]time.Time, 0, 64)
	for ctx.Err() == nil {
		buf = tt.Due(time.Now(), buf[:0])
		for _, at := range buf {
			if idle.Load() <= int64(len(jobs)) && len(ws) < cfg.MaxInFlight {
				spawn()
			}
			jobs <- at
		}
		next, ok := tt.Next()
		if !ok {
			break
		}
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
	close(jobs)
	wg.Wait()
	r := merge(ws, time.Since(start), cfg.Stream)
	r.Workers = len(ws)
	// Requests never handed out (the caller's context ended) count as
	// incomplete too, so Requests is always the timetable's length.
	if missing := tt.Len() - r.Requests; missing > 0 {
		r.Requests += missing
		r.Errors.Incomplete += missing
	}
	return r
}

var (
	doneLine   = []byte("data: [DONE]")
	contentKey = []byte(`"content":"`)
)

// do sends one request that was due at start and records its outcome.
func (w *worker) do(ctx context.Context, start time.Time) {
	w.n++
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(w.cfg.Body))
	if err != nil {
		w.errs.Transport++
		return
	}
	req.Header = w.cfg.Header
	resp, err := w.cfg.Transport.RoundTrip(req)
	if err != nil {
		if ctx.Err() != nil {
			w.errs.Incomplete++
		} else {
			w.errs.Transport++
		}
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		w.errs.Status++
		w.drain(resp.Body)
		return
	}
	var ttft time.Duration
	if w.cfg.Stream {
		var events int64
		ttft, events, err = w.readStream(resp.Body, start)
		if err == nil {
			w.events += events
		}
	} else {
		err = w.drain(resp.Body)
	}
	if err != nil {
		if ctx.Err() != nil {
			w.errs.Incomplete++
		} else {
			w.errs.Cut++
		}
		return
	}
	w.lat.Record(int64(time.Since(start)))
	if w.cfg.Stream {
		w.ttft.Record(int64(ttft))
	}
	w.ok++
}

func (w *worker) drain(r io.Reader) error {
	for {
		_, err := r.Read(w.buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var errNoDone = errors.New("stream ended without [DONE]")

// readStream reads server-sent events to "data: [DONE]" and returns the
// time from start to the first event carrying non-empty content, and the
// number of data events before [DONE].
func (w *worker) readStream(body io.Reader, start time.Time) (ttft time.Duration, events int64, err error) {
	w.br.Reset(body)
	defer w.br.Reset(nil)
	ttft = -1
	for {
		line, err := w.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A very long line: only its start matters here.
			for err == bufio.ErrBufferFull {
				_, err = w.br.ReadSlice('\n')
			}
		}
		if err != nil && (err != io.EOF || len(line) == 0) {
			if err == io.EOF {
				err = errNoDone
			}
			return 0, 0, fmt.Errorf("loadgen: read stream: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if !bytes.HasPrefix(line, []byte("data:")) {
			continue
		}
		if bytes.Equal(line, doneLine) {
			w.drain(w.br)
			if ttft < 0 {
				ttft = time.Since(start)
			}
			return ttft, events, nil
		}
		events++
		if ttft < 0 && hasContent(line) {
			ttft = time.Since(start)
		}
	}
}

// hasContent reports whether an OpenAI chunk line holds "content":"x" with
// non-empty x.
func hasContent(line []byte) bool {
	i := bytes.Index(line, contentKey)
	return i >= 0 && i+len(contentKey) < len(line) && line[i+len(contentKey)] != '"'
}
