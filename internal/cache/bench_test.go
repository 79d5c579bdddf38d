package cache

import (
	"fmt"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// BenchmarkMissWork is the cache's own work on a miss, without any HTTP:
// the key of a one-message request, the look-up that misses, and the
// store of a passed-through answer (~600 bytes, kept as it is),
// into a cache that keeps growing as the gateway benchmark's does. Its
// data stays in the CPU's caches, unlike a gateway's between requests. It is what BenchmarkCacheOverhead
// (internal/gateway) tries to see inside a whole request's CPU.
func BenchmarkMissWork(b *testing.B) {
	c := New(Options{})
	s := &Scope{Policy: "default", Action: "allow", Targets: []*provider.Info{api}}
	raw := make([]byte, 600)
	reqs := make([]string, 1024)
	for i := range reqs {
		reqs[i] = fmt.Sprintf("Summarise the quarterly report in three bullet points, please. (request %d)", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := req(reqs[i%len(reqs)])
		k := NewKey(r, s)
		if _, ok := c.Get(k); ok && i < len(reqs) {
			b.Fatal("unexpected hit")
		}
		c.Put(k, &Entry{Raw: raw, RawFormat: "openai", Provider: "api", Model: "m"}, time.Hour)
	}
}
