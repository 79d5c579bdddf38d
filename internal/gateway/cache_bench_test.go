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
//	hit        the model opted in, the same prompt: answered from the cache
//
// Every variant but hit sends a different prompt each time, so they do
// the same upstream work. docs/benchmarks.md has the numbers.
func BenchmarkCacheCPU(b *testing.B) {
	rules := func(model string) func(o *gateway.Options) {
		return func(o *gateway.Options) {
			o.Cache = cache.New(cache.Options{})
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
		{"elsewhere", rules("m-anthropic"), true, ""},
		{"miss", rules("m-openai"), true, "miss"},
		{"hit", rules("m-openai"), false, "hit"},
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

// BenchmarkCacheOverhead runs "off" and "miss" (above) side by side,
// alternating batches of 50 requests (off, on, on, off...), so that a busy machine's drift
// charges both alike, and reports each one's CPU per request and the
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
	off := mk(nil)
	var c *cache.Cache
	on := mk(func(o *gateway.Options) {
		c = cache.New(co)
		o.Cache = c
		o.CacheRules = map[string]gateway.CacheRule{"m-openai": {TTL: time.Hour}}
	})
	defer off.c.CloseIdleConnections()
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
	send(on)
	if co.MaxBytes > 0 {
		for c.Stats().Evictions == 0 {
			send(on)
		}
	}
	const batch = 50
	b.ResetTimer()
	for done, round := 0, 0; done < b.N; done, round = done+batch, round+1 {
		// off, on, then on, off: neither side always runs right after the
		// other (and pays for the garbage it left).
		order := []*side{off, on}
		if round%2 == 1 {
			order = []*side{on, off}
		}
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
	offNs, onNs := float64(off.cpu)/float64(off.n), float64(on.cpu)/float64(on.n)
	b.ReportMetric(offNs, "off-cpu-ns/op")
	b.ReportMetric(onNs, "miss-cpu-ns/op")
	b.ReportMetric(100*(onNs-offNs)/offNs, "overhead-%")
}

// cpuTime is the CPU (user + system) this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
