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
	"container/list"
	"sync"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// Entry is one cached answer.
type Entry struct {
	// Response is the upstream's answer (redacted form when the request's
	// verdict redacts). Never modified once stored: use Clone before
	// restoring values into it.
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
	// format replays it; any other hit decodes it once, with Decode (see
	// Answer). Response is nil until then.
	Raw       []byte
	RawFormat string
	Decode    func([]byte) (*llm.ChatResponse, error)
	// Stored is when the entry was written.
	Stored  time.Time
	expires time.Time
	size    int64
	once    sync.Once
	decErr  error
}

// Answer returns the entry's canonical answer, decoding Raw the first time
// when the entry was stored without one. The result must not be modified:
// Clone it first.
func (e *Entry) Answer() (*llm.ChatResponse, error) {
	if e.Raw == nil || e.Decode == nil {
		return e.Response, nil
	}
	e.once.Do(func() {
		if e.Response == nil {
			e.Response, e.decErr = e.Decode(e.Raw)
		}
	})
	return e.Response, e.decErr
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
type Cache struct {
	opt Options

	mu    sync.Mutex // guards the following fields
	lru   *list.List // of *item, most recently used at the front
	items map[Key]*list.Element
	bytes int64
	stats Stats
}

type item struct {
	key Key
	e   *Entry
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
	return &Cache{opt: o, lru: list.New(), items: map[Key]*list.Element{}}
}

// Get returns the live entry for k. An expired entry is removed and
// reported as a miss.
func (c *Cache) Get(k Key) (*Entry, bool) {
	now := c.opt.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.items[k]
	if el == nil {
		c.stats.Misses++
		return nil, false
	}
	it := el.Value.(*item)
	if !now.Before(it.e.expires) {
		c.removeLocked(el)
		c.stats.Expired++
		c.stats.Misses++
		return nil, false
	}
	c.lru.MoveToFront(el)
	c.stats.Hits++
	c.stats.SavedNanos += it.e.CostNanos
	return it.e, true
}

// Put stores e under k for ttl, evicting the least recently used entries
// to stay within MaxBytes. It reports whether the entry was kept (not when
// it is larger than MaxEntryBytes or ttl is not positive).
func (c *Cache) Put(k Key, e *Entry, ttl time.Duration) bool {
	if ttl <= 0 || e == nil || (e.Response == nil && (e.Raw == nil || e.Decode == nil)) {
		return false
	}
	now := c.opt.Now()
	e.Stored, e.expires = now, now.Add(ttl)
	e.size = entrySize(e)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.size > c.opt.MaxEntryBytes || e.size > c.opt.MaxBytes {
		c.stats.TooLarge++
		return false
	}
	if el := c.items[k]; el != nil {
		c.removeLocked(el)
	}
	for c.bytes+e.size > c.opt.MaxBytes {
		c.removeLocked(c.lru.Back())
		c.stats.Evictions++
	}
	c.items[k] = c.lru.PushFront(&item{key: k, e: e})
	c.bytes += e.size
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
	s.Entries, s.Bytes = len(c.items), c.bytes
	return s
}

func (c *Cache) removeLocked(el *list.Element) {
	it := c.lru.Remove(el).(*item)
	delete(c.items, it.key)
	c.bytes -= it.e.size
}

// entryOverhead approximates the fixed cost of an entry: the structs, the
// map slot and the list element.
const entryOverhead = 512

// entrySize approximates the memory an entry holds.
func entrySize(e *Entry) int64 {
	n := int64(entryOverhead + len(e.Provider) + len(e.Region) + len(e.Model) + len(e.Upstream) + len(e.Raw))
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
		out.Choices[i] = ch
	}
	return &out
}
