package router

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Capacity limits the requests in flight on one provider (typically a
// self-hosted GPU server) and tells the router when it is saturated: at
// max_concurrency requests in flight, or while the serving engine's own
// waiting queue (vLLM's vllm:num_requests_waiting, read from its /metrics)
// is deeper than max_waiting.
//
// A saturated target is skipped when the request has another permitted
// target left (the request spills); when it has none (policy keeps it
// here), the request waits in a bounded queue for a slot, up to
// queue_timeout, and is then refused with a 503 and Retry-After.
//
// Safe for concurrent use.
type Capacity struct {
	provider string
	cfg      config.Capacity
	now      func() time.Time

	inflight atomic.Int64
	// waiting counts requests queued for a slot.
	waiting atomic.Int64
	// freed is signalled (without blocking) when a slot is released, to
	// wake one queued request.
	freed chan struct{}

	// engineWaiting is the last value read from MetricsURL (-1 unknown).
	engineWaiting atomic.Int64
	polledAt      atomic.Int64 // unix nanos of the last poll start
	polling       atomic.Bool
	client        *http.Client

	// Counters, read by the metrics collector.
	admitted, spilled, queued, queueTimeouts, queueFull atomic.Int64
	spillCost, spillTokens                              atomic.Int64

	mu      sync.Mutex // guards pollErr
	pollErr error
}

func newCapacity(provider string, c config.Capacity, now func() time.Time) *Capacity {
	c.ApplyDefaults()
	cp := &Capacity{provider: provider, cfg: c, now: now, freed: make(chan struct{}, 1),
		client: &http.Client{Timeout: 2 * time.Second}}
	cp.engineWaiting.Store(-1)
	return cp
}

// Provider is the name of the provider the capacity belongs to.
func (c *Capacity) Provider() string { return c.provider }

// InFlight is the number of requests holding a slot.
func (c *Capacity) InFlight() int64 { return c.inflight.Load() }

// tryAcquire takes a slot when the provider is not saturated.
func (c *Capacity) tryAcquire() bool {
	if c.cfg.MaxConcurrency > 0 {
		for {
			n := c.inflight.Load()
			if n >= int64(c.cfg.MaxConcurrency) {
				return false
			}
			if c.saturatedByEngine() {
				return false
			}
			if c.inflight.CompareAndSwap(n, n+1) {
				c.admitted.Add(1)
				return true
			}
		}
	}
	if c.saturatedByEngine() {
		return false
	}
	c.inflight.Add(1)
	c.admitted.Add(1)
	return true
}

func (c *Capacity) saturatedByEngine() bool {
	if c.cfg.MetricsURL == "" {
		return false
	}
	c.maybePoll()
	w := c.engineWaiting.Load()
	return w >= 0 && w > int64(c.cfg.MaxWaiting)
}

// release gives a slot back and wakes one queued request.
func (c *Capacity) release() {
	c.inflight.Add(-1)
	select {
	case c.freed <- struct{}{}:
	default:
	}
}

// errQueueFull and the timeout error are 503s the client can retry.
func (c *Capacity) overloaded(code, why string) *llm.Error {
	return &llm.Error{
		Status: http.StatusServiceUnavailable, Type: llm.ErrOverloaded, Code: code,
		Message: fmt.Sprintf("provider %s is at capacity and the data policy permits no other target for this request: %s; retry later",
			c.provider, why),
		Provider:   c.provider,
		RetryAfter: max(c.cfg.QueueTimeout.D(), time.Second),
	}
}

// wait queues for a slot until one is free, the queue timeout passes or
// ctx ends. A full queue is refused at once.
func (c *Capacity) wait(ctx context.Context) error {
	if c.waiting.Add(1) > int64(c.cfg.QueueSize) {
		c.waiting.Add(-1)
		c.queueFull.Add(1)
		return c.overloaded("capacity_queue_full", fmt.Sprintf("%d requests are already waiting", c.cfg.QueueSize))
	}
	defer c.waiting.Add(-1)
	c.queued.Add(1)
	timer := time.NewTimer(c.cfg.QueueTimeout.D())
	defer timer.Stop()
	// Poll as well as wait for a release: a slot can also open when the
	// engine's own queue drains, which sends no signal.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if c.tryAcquire() {
			return nil
		}
		select {
		case <-c.freed:
		case <-tick.C:
		case <-timer.C:
			c.queueTimeouts.Add(1)
			return c.overloaded("capacity_timeout", fmt.Sprintf("no slot opened within %s", c.cfg.QueueTimeout.D()))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// maybePoll starts a read of the engine's metrics when the last one is
// older than the interval. It never blocks the caller: the value in use is
// the last one read.
func (c *Capacity) maybePoll() {
	if c.cfg.MetricsURL == "" {
		return
	}
	now := c.now().UnixNano()
	if now-c.polledAt.Load() < int64(c.cfg.MetricsInterval.D()) || !c.polling.CompareAndSwap(false, true) {
		return
	}
	c.polledAt.Store(now)
	go func() {
		defer c.polling.Store(false)
		v, err := c.poll(context.Background())
		c.mu.Lock()
		c.pollErr = err
		c.mu.Unlock()
		if err != nil {
			c.engineWaiting.Store(-1) // unknown: fall back to the static limit
			return
		}
		c.engineWaiting.Store(v)
	}()
}

// Poll reads the engine's waiting gauge now and stores it.
func (c *Capacity) Poll(ctx context.Context) error {
	v, err := c.poll(ctx)
	if err != nil {
		c.engineWaiting.Store(-1)
		return err
	}
	c.polledAt.Store(c.now().UnixNano())
	c.engineWaiting.Store(v)
	return nil
}

func (c *Capacity) poll(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.MetricsURL, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("capacity %s: metrics: %w", c.provider, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("capacity %s: metrics: status %d", c.provider, resp.StatusCode)
	}
	return ParseGauge(bufio.NewScanner(http.MaxBytesReader(nil, resp.Body, 4<<20)), c.cfg.MetricsGauge)
}

// ParseGauge sums the samples of a gauge in the Prometheus text format
// (vLLM labels its gauges by model_name; a server with several models
// reports one sample each).
func ParseGauge(sc *bufio.Scanner, name string) (int64, error) {
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var (
		sum   float64
		found bool
	)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue // a longer name with the same prefix
		}
		if rest[0] == '{' {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("gauge %q not found", name)
	}
	return int64(sum), nil
}

// CapacityStats are one provider's spillover counters.
type CapacityStats struct {
	Provider string `json:"provider"`
	InFlight int64  `json:"in_flight"`
	Waiting  int64  `json:"waiting"`
	// EngineWaiting is the engine's own queue depth (-1 when not read).
	EngineWaiting int64 `json:"engine_waiting"`
	Admitted      int64 `json:"admitted"`
	// Spilled counts requests sent to another permitted target because
	// this one was saturated.
	Spilled       int64 `json:"spilled"`
	Queued        int64 `json:"queued"`
	QueueTimeouts int64 `json:"queue_timeouts"`
	QueueFull     int64 `json:"queue_full"`
	// SpilledCostNanos and SpilledTokens are what the spilled requests
	// cost and used where they went instead (USD × 1e9).
	SpilledCostNanos int64 `json:"spilled_cost_nanos"`
	SpilledTokens    int64 `json:"spilled_tokens"`
}

// Stats returns the counters.
func (c *Capacity) Stats() CapacityStats {
	return CapacityStats{
		Provider: c.provider, InFlight: c.inflight.Load(), Waiting: c.waiting.Load(), EngineWaiting: c.engineWaiting.Load(),
		Admitted: c.admitted.Load(), Spilled: c.spilled.Load(), Queued: c.queued.Load(),
		QueueTimeouts: c.queueTimeouts.Load(), QueueFull: c.queueFull.Load(),
		SpilledCostNanos: c.spillCost.Load(), SpilledTokens: c.spillTokens.Load(),
	}
}

// slotsKey is the context key of a SlotHolder.
type slotsKey struct{}

// SlotHolder keeps the capacity slot of a streamed answer until the stream
// ends (without one, a slot is released as soon as the attempt returns:
// for streams, at the first chunk), and notes the capacities a request
// spilled from.
type SlotHolder struct {
	mu      sync.Mutex
	slots   []*Capacity
	spilled []*Capacity
}

// Spilled lists the capacities the request was spilled from.
func (h *SlotHolder) Spilled() []*Capacity {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.spilled
}

func (h *SlotHolder) spill(c *Capacity) {
	h.mu.Lock()
	h.spilled = append(h.spilled, c)
	h.mu.Unlock()
}

// CountSpill adds what a spilled request's successful attempt elsewhere
// cost and used to the spill counters.
func (c *Capacity) CountSpill(costNanos int64, u *llm.Usage) {
	c.spillCost.Add(costNanos)
	if u != nil {
		c.spillTokens.Add(u.Total())
	}
}

// HoldSlots returns a context whose successful attempts hand their slot to
// the returned holder; call Release when the answer is complete.
func HoldSlots(ctx context.Context) (context.Context, *SlotHolder) {
	h := &SlotHolder{}
	return context.WithValue(ctx, slotsKey{}, h), h
}

// Release frees every slot held. Safe to call more than once.
func (h *SlotHolder) Release() {
	h.mu.Lock()
	slots := h.slots
	h.slots = nil
	h.mu.Unlock()
	for _, c := range slots {
		c.release()
	}
}

func (h *SlotHolder) keep(c *Capacity) {
	h.mu.Lock()
	h.slots = append(h.slots, c)
	h.mu.Unlock()
}
