package gemini

import "sync"

// sigCache remembers the thought signatures Gemini attached to function
// calls, by the tool call ID Fulcrum gave the client, so that when the
// client sends the conversation back the real signature goes with the call
// (Gemini 3 requires it; https://ai.google.dev/gemini-api/docs/thought-signatures).
// The canonical model has no field for it, and the client only echoes the
// ID. The cache is bounded and per process: a miss (another replica, an
// evicted entry, history from another model) falls back to the documented
// placeholder signature.
type sigCache struct {
	mu    sync.Mutex // guards the following fields
	m     map[string]string
	order []string // ring of keys in insertion order
	next  int
}

func newSigCache(n int) *sigCache {
	return &sigCache{m: make(map[string]string, n), order: make([]string, n)}
}

// put records sig for id, evicting the oldest entry when full.
func (c *sigCache) put(id, sig string) {
	if id == "" || sig == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; ok {
		c.m[id] = sig
		return
	}
	if old := c.order[c.next]; old != "" {
		delete(c.m, old)
	}
	c.order[c.next] = id
	c.next = (c.next + 1) % len(c.order)
	c.m[id] = sig
}

// get returns the signature for id, or "".
func (c *sigCache) get(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id]
}
