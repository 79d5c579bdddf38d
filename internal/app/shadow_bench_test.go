package app

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkShadow measures the live request with shadowing off and on,
// everything in this process (client, gateway, fake upstreams), and
// reports per request: the process CPU (cpu-µs/op, from getrusage: the
// gateway, the fakes and the shadow workers together) and the live
// latency percentiles the client saw (p50-µs, p99-µs).
//
//   - off: no shadow rule anywhere; the baseline.
//   - other-route: a shadow rule on another model only: the engine runs but
//     this route pays one map look-up (shadowing "off" for it).
//   - slow-candidate: every request sampled, the candidate takes 100 ms:
//     four workers stay busy, the queue is full and almost every sample is
//     dropped, so this is the request path's own cost (sampling, the
//     decoded path instead of pass-through, capture, enqueue) and the live
//     latency while a slow candidate runs behind it.
//   - rate-0.05, rate-1: a fast candidate, 5% and every request shadowed:
//     the whole cost, shadow calls included (at rate 1 every request is
//     answered twice, so expect about twice the upstream work).
//
// Setup is two fake servers and a SQLite file: cheap enough for CI's
// -benchtime 20x. docs/benchmarks.md has a longer run.
func BenchmarkShadow(b *testing.B) {
	const plain = "  - { name: m-gpu, provider: gpu, upstream: llama }\n"
	for _, c := range []struct {
		name, models string
		delay        time.Duration
	}{
		{"off", "  - { name: m-api, provider: api, upstream: gpt-4o }\n" + plain, 0},
		{"other-route", "  - { name: m-api, provider: api, upstream: gpt-4o }\n  - { name: m-gpu, provider: gpu, upstream: llama, shadow: { candidates: [m-api], sample_rate: 1 } }\n", 0},
		{"slow-candidate", "  - { name: m-api, provider: api, upstream: gpt-4o, shadow: { candidates: [m-gpu], sample_rate: 1 } }\n" + plain, 100 * time.Millisecond},
		{"rate-0.05", "  - { name: m-api, provider: api, upstream: gpt-4o, shadow: { candidates: [m-gpu], sample_rate: 0.05 } }\n" + plain, 0},
		{"rate-1", "  - { name: m-api, provider: api, upstream: gpt-4o, shadow: { candidates: [m-gpu], sample_rate: 1 } }\n" + plain, 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := newShadowEnv(b, c.models, "")
			e.api.Record(false)
			e.gpu.Record(false)
			e.delay = c.delay
			benchLive(b, e)
		})
	}
}

func benchLive(b *testing.B, e *shadowEnv) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := chatBody("m-api", "Summarise the quarterly report in three bullet points, please.", false)
	var mu sync.Mutex
	lats := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.SetParallelism(2)
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer key-open")
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(start))
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
		mu.Lock()
		lats = append(lats, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if e.g.shadow != nil {
		e.g.shadow.Close() // stop the workers: their CPU counts up to here
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	slices.Sort(lats)
	if n := len(lats); n > 0 {
		b.ReportMetric(float64(lats[n/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lats[min(n-1, n*99/100)].Microseconds()), "p99-µs")
	}
}

// BenchmarkShadowOverhead runs shadowing "off" and "on" side by side, one
// request at a time, alternating batches of requests (off, on, then on,
// off: neither side always follows the other) so that a busy machine's
// drift charges both alike, and reports each side's process CPU per live
// request and the difference (overhead-%):
//
//   - rate-0.05: a fast candidate, 5% of requests shadowed. After each "on"
//     batch the benchmark waits for the shadow queue to drain, so the
//     shadow calls, comparisons and stored rows of that batch are charged
//     to it: the whole cost of shadowing at a realistic rate.
//   - saturated: every request sampled, but the candidate never answers
//     (the four workers hold, the queue stays full): every sample is
//     dropped at the queue, so this is the request path's own cost
//     (sample decision, capture, offer) and nothing else.
//
// "off" is the same gateway configuration without the shadow rule.
func BenchmarkShadowOverhead(b *testing.B) {
	const (
		plain  = "  - { name: m-api, provider: api, upstream: gpt-4o }\n  - { name: m-gpu, provider: gpu, upstream: llama }\n"
		shadow = "  - { name: m-api, provider: api, upstream: gpt-4o, shadow: { candidates: [m-gpu], sample_rate: %s } }\n  - { name: m-gpu, provider: gpu, upstream: llama }\n"
	)
	for _, c := range []struct {
		name, rate string
		saturate   bool
	}{
		{"rate-0.05", "0.05", false},
		{"saturated", "1", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			type side struct {
				e   *shadowEnv
				c   *http.Client
				cpu time.Duration
				n   int
			}
			mk := func(models string) *side {
				e := newShadowEnv(b, models, "")
				e.api.Record(false)
				e.gpu.Record(false)
				return &side{e: e, c: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
			}
			off := mk(plain)
			on := mk(strings.Replace(shadow, "%s", c.rate, 1))
			if on.e.g.shadow == nil {
				b.Fatal("the shadow engine did not start")
			}
			if c.saturate {
				hold := make(chan struct{})
				on.e.mu.Lock()
				on.e.hold = hold
				on.e.mu.Unlock()
				b.Cleanup(func() { close(hold) }) // before the servers close
			}
			defer off.c.CloseIdleConnections()
			defer on.c.CloseIdleConnections()
			body := chatBody("m-api", "Summarise the quarterly report in three bullet points, please.", false)
			send := func(s *side) {
				req, _ := http.NewRequest(http.MethodPost, s.e.srv.URL+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer key-open")
				resp, err := s.c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			drain := func() {
				if !c.saturate {
					on.e.g.shadow.Wait(context.Background())
				}
			}
			// Warm both; saturated: fill the workers and the queue first.
			warm := 1
			if c.saturate {
				warm = 300
			}
			for range warm {
				send(off)
				send(on)
			}
			drain()
			// rate-0.05 batches are longer: its "on" side waits after each
			// one for the shadow rows to be stored (which the engine does
			// in one transaction per StoreInterval), and a batch of 200 has
			// about 10 samples, as steady traffic would.
			batch := 50
			if !c.saturate {
				batch = 200
			}
			b.ResetTimer()
			for done, round := 0, 0; done < b.N; done, round = done+batch, round+1 {
				order := []*side{off, on}
				if round%2 == 1 {
					order = []*side{on, off}
				}
				n := min(batch, b.N-done)
				for _, s := range order {
					c0 := cpuTime()
					for range n {
						send(s)
					}
					if s == on {
						drain()
					}
					s.cpu += cpuTime() - c0
					s.n += n
				}
			}
			b.StopTimer()
			offNs, onNs := float64(off.cpu)/float64(off.n), float64(on.cpu)/float64(on.n)
			b.ReportMetric(offNs, "off-cpu-ns/op")
			b.ReportMetric(onNs, "on-cpu-ns/op")
			b.ReportMetric(100*(onNs-offNs)/offNs, "overhead-%")
		})
	}
}
