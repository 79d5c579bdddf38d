//go:build unix

package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/cache"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
)

// BenchmarkCacheCPU measures what the response cache costs per request, in
// CPU time (user + system, of the whole process: client, gateway and fake
// upstream) and wall time, for the same OpenAI pass-through request:
//
//	off        no cache configured (the default)
//	elsewhere  a cache configured for another model only
//	miss       the model opted in, every prompt new: key, look-up, store
//	miss-full  the same into a cache bounded to 2 MiB: every store evicts
//	hit        the model opted in, the same prompt: answered from the cache
//
// Every variant but hit sends a different prompt each time, so they do
// the same upstream work. docs/benchmarks.md has the numbers.
func BenchmarkCacheCPU(b *testing.B) {
	rules := func(model string, co cache.Options) func(o *gateway.Options) {
		return func(o *gateway.Options) {
			o.Cache = cache.New(co)
			o.CacheRules = map[string]gateway.CacheRule{model: {TTL: time.Hour}}
		}
	}
	for _, v := range []struct {
		name   string
		tweak  func(o *gateway.Options)
		unique bool
		header string // X-Fulcrum-Cache each answer must carry
	}{
		{"off", nil, true, ""},
		{"elsewhere", rules("m-anthropic", cache.Options{}), true, ""},
		{"miss", rules("m-openai", cache.Options{}), true, "miss"},
		{"miss-full", rules("m-openai", cache.Options{MaxBytes: 2 << 20}), true, "miss"},
		{"hit", rules("m-openai", cache.Options{}), false, "hit"},
	} {
		b.Run(v.name, func(b *testing.B) {
			e := newEnvWith(b, v.tweak)
			e.oa.Record(false)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			var n atomic.Int64
			warm := false
			send := func() {
				prompt := "Summarise the quarterly report in three bullet points, please."
				if v.unique {
					prompt += fmt.Sprintf(" (request %d)", n.Add(1))
				}
				resp, err := client.Post(e.srv.URL+"/v1/chat/completions", "application/json",
					strings.NewReader(`{"model":"m-openai","messages":[{"role":"user","content":"`+prompt+`"}]}`))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
				if h := resp.Header.Get("X-Fulcrum-Cache"); h != v.header && !warm {
					b.Fatalf("X-Fulcrum-Cache %q, want %q", h, v.header)
				}
			}
			warm = true
			send() // warm the connection (and, for hit, the cache)
			warm = false
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				send()
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkCacheOverhead runs "off" and "miss" (above) side by side, with
// a second "off" gateway as an A/A control, in batches of 50 requests in
// rotating order, so that a busy machine's drift charges all alike, and reports each one's CPU per request and the
// difference: what turning the cache on costs a request that misses (the
// worst case: key, look-up and store, then the same upstream call).
//
//	grow  the default bounds (64 MiB): the cache grows by every answer, as
//	      a fresh gateway's does, to about 50,000 entries at 64 MiB
//	full  bounded to 2 MiB and filled before the timer starts: every store
//	      evicts, and the cache's memory stays small and warm, which
//	      separates the key, look-up and store from the effects of
//	      holding a large and growing set of entries
func BenchmarkCacheOverhead(b *testing.B) {
	b.Run("grow", func(b *testing.B) { cacheOverhead(b, cache.Options{}) })
	b.Run("full", func(b *testing.B) { cacheOverhead(b, cache.Options{MaxBytes: 2 << 20}) })
}

func cacheOverhead(b *testing.B, co cache.Options) {
	type side struct {
		e   *env
		c   *http.Client
		cpu time.Duration
		n   int
	}
	mk := func(tweak func(o *gateway.Options)) *side {
		e := newEnvWith(b, tweak)
		e.oa.Record(false)
		return &side{e: e, c: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	}
	off, off2 := mk(nil), mk(nil)
	var c *cache.Cache
	on := mk(func(o *gateway.Options) {
		c = cache.New(co)
		o.Cache = c
		o.CacheRules = map[string]gateway.CacheRule{"m-openai": {TTL: time.Hour}}
	})
	defer off.c.CloseIdleConnections()
	defer off2.c.CloseIdleConnections()
	defer on.c.CloseIdleConnections()
	var seq atomic.Int64
	send := func(s *side) {
		prompt := fmt.Sprintf("Summarise the quarterly report in three bullet points, please. (request %d)", seq.Add(1))
		resp, err := s.c.Post(s.e.srv.URL+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"m-openai","messages":[{"role":"user","content":"`+prompt+`"}]}`))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	send(off)
	send(off2)
	send(on)
	if co.MaxBytes > 0 {
		for c.Stats().Evictions == 0 {
			send(on)
		}
	}
	const batch = 50
	b.ResetTimer()
	for done, round := 0, 0; done < b.N; done, round = done+batch, round+1 {
		// The order rotates through all six permutations: no side
		// always runs right after another (and pays for the garbage it
		// left).
		order := orders(off, off2, on)[round%6]
		for _, s := range order {
			c0 := cpuTime()
			for range min(batch, b.N-done) {
				send(s)
			}
			s.cpu += cpuTime() - c0
			s.n += min(batch, b.N-done)
		}
	}
	b.StopTimer()
	offNs, off2Ns, onNs := float64(off.cpu)/float64(off.n), float64(off2.cpu)/float64(off2.n), float64(on.cpu)/float64(on.n)
	b.ReportMetric(offNs, "off-cpu-ns/op")
	b.ReportMetric(onNs, "miss-cpu-ns/op")
	b.ReportMetric(100*(onNs-offNs)/offNs, "overhead-%")
	// off2 is a second gateway without a cache: how far two identical
	// sides drift apart, the noise floor of overhead-%.
	b.ReportMetric(100*(off2Ns-offNs)/offNs, "aa-%")
}

// orders lists the six orders of three sides.
func orders[T any](a, b, c T) [6][]T {
	return [6][]T{{a, b, c}, {c, a, b}, {b, c, a}, {a, c, b}, {b, a, c}, {c, b, a}}
}

// cpuTime is the CPU (user + system) this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
