// Package cache is Fulcrum's exact-match response cache.
//
// An entry is found only by a key that hashes the whole normalised request
// together with everything the data policy decided about it: the policy
// name, the verdict's classes and action, and the permitted targets
// (provider, hosting, region) of the plan. A caller whose policy differs in
// any of these computes another key and misses, so a cached answer can never
// reach a caller the policy would not have let see it; the entry also
// remembers which provider produced it, and the gateway checks the caller's
// verdict permits that provider before serving it.
//
// Answers are kept as the upstream gave them (redacted when the verdict
// redacts; the gateway restores values per caller), in the canonical model,
// so a hit can be replayed in either wire format, streamed or not.
//
// The cache is in memory, bounded in bytes, least recently used entries
// evicted first, and safe for concurrent use.
package cache

import (
	"encoding/binary"
	"math"
	"sync"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// Entry is one cached answer, as Put takes it and Get returns it.
type Entry struct {
	// Response is the upstream's canonical answer (redacted form when the
	// request's verdict redacts), or nil for an entry kept as Raw only
	// until a hit decodes it (see Cache.Answer). Never modified once
	// stored: use Clone before restoring values into it.
	Response *llm.ChatResponse
	// Usage is what the original call used (the tokens a hit did not need).
	Usage llm.Usage
	// CostNanos is what the original call cost (USD × 1e9): what a hit saves.
	CostNanos int64
	// Provider, Hosting and Region describe who produced the answer.
	Provider string
	Hosting  provider.Hosting
	Region   string
	// Model is the client-facing target model, Upstream the provider's name.
	Model    string
	Upstream string
	// Raw is the answer as the upstream sent it, in the client wire format
	// named RawFormat: a passed-through call's body, kept without decoding
	// so that a miss costs what an uncached call costs. A hit in the same
	// format replays it; any other hit decodes it, once per entry (see
	// Cache.Answer). Put keeps it without copying: it must not be
	// modified afterwards.
	Raw       []byte
	RawFormat string
	// Stored is when the entry was written (set by Put).
	Stored time.Time

	blob []byte // the stored form this entry was read from (Get)
}

// Info returns a provider description of who produced the answer, for a
// policy check (Permits) before a hit is served.
func (e *Entry) Info() *provider.Info {
	return &provider.Info{Name: e.Provider, Hosting: e.Hosting, Region: e.Region}
}

// Options configure a Cache. Zero fields take the defaults noted.
type Options struct {
	// MaxBytes bounds the size of all entries. Default 64 MiB.
	MaxBytes int64
	// MaxEntryBytes is the largest entry kept. Default 1 MiB.
	MaxEntryBytes int64
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Stats are the cache's counters since it was built.
type Stats struct {
	Hits, Misses, Stores, Evictions, Expired, TooLarge int64
	// SavedNanos sums the cost of the original calls of every hit.
	SavedNanos int64
	Entries    int
	Bytes      int64
}

// Cache is a bounded in-memory map from Key to Entry with a TTL per entry.
//
// It is laid out for the request that misses, whose cost is the key, one
// look-up and one store in a cache of tens of thousands of entries that are
// rarely in the CPU's caches: an entry is a slot in chunked arrays (its LRU
// links are slot indices, not list elements), its small fields are
// serialised into one pointer-free byte slice, and the index is an
// open-addressing table of key prefixes (index.go) that a look-up reads one
// cache line of, where a Go map reads two or three. Nothing of it needs a
// pointer scan but the slots, and a store allocates one small object. The
// profile behind this is in docs/benchmarks.md ("Response cache").
type Cache struct {
	opt Options

	mu    sync.Mutex // guards the following fields
	index index
	// chunks hold the slots, chunkSize each: the cache grows without
	// copying (or re-faulting) the slots it has.
	chunks [][]slot
	nslots int32
	// head and tail are the most and least recently used slots, free the
	// first unused one (linked by next); -1 for none.
	head, tail, free int32
	bytes            int64
	stats            Stats
}

const chunkSize = 1024

// slot is one entry of the cache.
type slot struct {
	key        Key
	prev, next int32
	expires    int64 // Unix nanoseconds
	size       int64
	cost       int64  // the entry's CostNanos, for Stats.SavedNanos
	blob       []byte // the entry's other fields (blob.go)
	raw        []byte
	// resp is the canonical answer: the one stored, or Raw decoded by a
	// hit in another format (nil until then).
	resp *llm.ChatResponse
}

// New returns an empty cache.
func New(o Options) *Cache {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.MaxEntryBytes <= 0 {
		o.MaxEntryBytes = 1 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cache{opt: o, head: -1, tail: -1, free: -1}
}

func (c *Cache) slot(i int32) *slot { return &c.chunks[i/chunkSize][i%chunkSize] }

// short is the index's key: the first 8 bytes of a SHA-256. Two keys that
// share them (about one chance in 2^64 per pair) share a slot: each
// replaces the other on Put, and Get compares the whole key, so the worst
// case is an early eviction, never a wrong answer.
func short(k Key) uint64 { return binary.LittleEndian.Uint64(k[:8]) }

// Get returns the live entry for k. An expired entry is removed and
// reported as a miss. A miss reads no clock.
func (c *Cache) Get(k Key) (*Entry, bool) {
	c.mu.Lock()
	i, ok := c.index.get(short(k))
	if !ok || c.slot(i).key != k {
		c.stats.Misses++
		c.mu.Unlock()
		return nil, false
	}
	s := c.slot(i)
	if c.opt.Now().UnixNano() >= s.expires {
		c.removeLocked(i)
		c.stats.Expired++
		c.stats.Misses++
		c.mu.Unlock()
		return nil, false
	}
	c.unlinkLocked(i)
	c.pushFrontLocked(i)
	c.stats.Hits++
	c.stats.SavedNanos += s.cost
	blob, raw, resp := s.blob, s.raw, s.resp
	c.mu.Unlock()
	e := decodeEntry(blob)
	e.Raw, e.Response = raw, resp
	return e, true
}

// Answer returns e's canonical answer: e.Response, or else e.Raw decoded
// with decode. A decoded answer is kept with the cached entry (while it is
// still the one under k), so later hits decode nothing; two first hits at
// once may both decode. The result must not be modified: Clone it first.
func (c *Cache) Answer(k Key, e *Entry, decode func([]byte) (*llm.ChatResponse, error)) (*llm.ChatResponse, error) {
	if e.Response != nil || e.Raw == nil || decode == nil {
		return e.Response, nil
	}
	r, err := decode(e.Raw)
	if err != nil {
		return nil, err
	}
	e.Response = r
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.index.get(short(k)); ok {
		if s := c.slot(i); s.key == k && s.resp == nil && len(e.blob) > 0 && &s.blob[0] == &e.blob[0] {
			s.resp = r
		}
	}
	return r, nil
}

// Put stores e under k for ttl, evicting the least recently used entries
// to stay within MaxBytes. It reports whether the entry was kept (not when
// it is larger than MaxEntryBytes, has no answer, or ttl is not positive).
// Put keeps e.Response and e.Raw (neither may be modified afterwards) and
// copies everything else: e itself is not retained.
func (c *Cache) Put(k Key, e *Entry, ttl time.Duration) bool {
	if ttl <= 0 || e == nil || (e.Response == nil && e.Raw == nil) {
		return false
	}
	size := entrySize(e)
	if size > c.opt.MaxEntryBytes || size > c.opt.MaxBytes {
		c.mu.Lock()
		c.stats.TooLarge++
		c.mu.Unlock()
		return false
	}
	now := c.opt.Now()
	blob := encodeEntry(e, now.UnixNano())
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.index.get(short(k)); ok {
		c.removeLocked(i)
	}
	for c.bytes+size > c.opt.MaxBytes || (c.free < 0 && c.nslots > math.MaxInt32-chunkSize) {
		c.removeLocked(c.tail)
		c.stats.Evictions++
	}
	i := c.free
	if i >= 0 {
		c.free = c.slot(i).next
	} else {
		if c.nslots%chunkSize == 0 {
			c.chunks = append(c.chunks, make([]slot, chunkSize))
		}
		i = c.nslots
		c.nslots++
	}
	*c.slot(i) = slot{key: k, expires: now.Add(ttl).UnixNano(), size: size, cost: e.CostNanos, blob: blob, raw: e.Raw, resp: e.Response}
	c.pushFrontLocked(i)
	c.index.set(short(k), i)
	c.bytes += size
	c.stats.Stores++
	return true
}

// MaxEntryBytes is the largest entry the cache keeps.
func (c *Cache) MaxEntryBytes() int64 { return c.opt.MaxEntryBytes }

// Stats returns a copy of the counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries, s.Bytes = c.index.len(), c.bytes
	return s
}

// removeLocked drops slot i and puts it on the free list.
func (c *Cache) removeLocked(i int32) {
	c.unlinkLocked(i)
	s := c.slot(i)
	c.index.del(short(s.key))
	c.bytes -= s.size
	*s = slot{next: c.free}
	c.free = i
}

func (c *Cache) unlinkLocked(i int32) {
	s := c.slot(i)
	if s.prev >= 0 {
		c.slot(s.prev).next = s.next
	} else {
		c.head = s.next
	}
	if s.next >= 0 {
		c.slot(s.next).prev = s.prev
	} else {
		c.tail = s.prev
	}
}

func (c *Cache) pushFrontLocked(i int32) {
	s := c.slot(i)
	s.prev, s.next = -1, c.head
	if c.head >= 0 {
		c.slot(c.head).prev = i
	} else {
		c.tail = i
	}
	c.head = i
}

// entryOverhead approximates the fixed cost of an entry: its slot, its
// share of the index and the rounding of its blob's allocation.
const entryOverhead = 256

// entrySize approximates the memory an entry holds.
func entrySize(e *Entry) int64 {
	n := int64(entryOverhead + len(e.Provider) + len(e.Region) + len(e.Model) + len(e.Upstream) + cap(e.Raw))
	r := e.Response
	if r == nil {
		// Raw only: a decoded answer, made on a hit in another format,
		// holds about what the raw text does.
		return n + int64(len(e.Raw))
	}
	n += int64(len(r.ID) + len(r.Model) + len(r.StopSequence) + len(r.SystemFingerprint))
	for i := range r.Choices {
		m := &r.Choices[i].Message
		n += 64
		for _, p := range m.Content {
			n += int64(len(p.Text)) + 32
		}
		for _, tc := range m.ToolCalls {
			n += int64(len(tc.ID)+len(tc.Name)+len(tc.Arguments)) + 48
		}
	}
	return n
}

// Clone returns a deep copy of a response's messages, so a caller can
// restore redacted values into it without touching the cached entry.
func Clone(r *llm.ChatResponse) *llm.ChatResponse {
	out := *r
	if r.Usage != nil {
		u := *r.Usage
		out.Usage = &u
	}
	out.Choices = make([]llm.Choice, len(r.Choices))
	for i, ch := range r.Choices {
		ch.Message.Content = append([]llm.Part(nil), ch.Message.Content...)
		ch.Message.ToolCalls = append([]llm.ToolCall(nil), ch.Message.ToolCalls...)
		ch.Message.Thoughts = append([]llm.Thought(nil), ch.Message.Thoughts...)
		out.Choices[i] = ch
	}
	return &out
}
