package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeVLLM fronts the self-hosted fake like a vLLM server under load: it
// runs at most limit requests at once (the rest wait in its own queue),
// holds every request until released, and reports its queue depth at
// /metrics as vllm:num_requests_waiting.
type fakeVLLM struct {
	srv     *httptest.Server
	limit   int64
	running atomic.Int64
	waiting atomic.Int64
	slots   chan struct{}
	hold    chan struct{}
	maxSeen atomic.Int64
}

func newFakeVLLM(t *testing.T, upstream http.Handler, limit int) *fakeVLLM {
	f := &fakeVLLM{limit: int64(limit), slots: make(chan struct{}, limit), hold: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			fmt.Fprintf(w, "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"llama\"} %d\n"+
				"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"llama\"} %d\n", f.waiting.Load(), f.running.Load())
			return
		}
		f.waiting.Add(1)
		f.slots <- struct{}{}
		f.waiting.Add(-1)
		n := f.running.Add(1)
		for m := f.maxSeen.Load(); n > m && !f.maxSeen.CompareAndSwap(m, n); m = f.maxSeen.Load() {
		}
		<-f.hold
		upstream.ServeHTTP(w, r)
		f.running.Add(-1)
		<-f.slots
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// TestSpilloverEndToEnd: the self-hosted server takes two requests at a
// time. Under a burst above that, requests policy allows anywhere spill to
// the proprietary api at once; requests carrying an email address, which
// policy keeps self-hosted, wait in the bounded queue and then get a clean
// 503 with Retry-After in the client's error format. No email ever reaches
// the api; spills are counted in /metrics.
func TestSpilloverEndToEnd(t *testing.T) {
	var vllm *fakeVLLM
	gpuFake := http.NewServeMux()
	var e *hybridEnv
	gpuFake.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { e.gpu.ServeHTTP(w, r) })
	vllm = newFakeVLLM(t, gpuFake, 2)
	e = newHybridEnvWith(t, hybridOpts{
		gpuURL:   vllm.srv.URL + "/v1",
		gpuExtra: `, capacity: { max_concurrency: 2, metrics_url: "` + vllm.srv.URL + `/metrics", queue_size: 8, queue_timeout: 300ms }`,
		routes:   "  - { name: spill, targets: [m-gpu, m-api] }",
	})
	e.mu.Lock()
	e.now = time.Now() // the metrics poller runs on the gateway's clock
	e.mu.Unlock()
	var wg sync.WaitGroup
	type result struct {
		status         int
		provider, body string
		retryAfter     string
	}
	send := func(key, text string, out *result) {
		defer wg.Done()
		r, b := e.do(t, key, chatBody("spill", text, false))
		*out = result{r.StatusCode, r.Header.Get("X-Fulcrum-Provider"), b, r.Header.Get("Retry-After")}
	}
	// Two requests fill the self-hosted server.
	busy := make([]result, 2)
	for i := range busy {
		wg.Add(1)
		go send("key-open", fmt.Sprintf("long job %d", i), &busy[i])
	}
	waitUntil(t, func() bool { return vllm.running.Load()+vllm.waiting.Load() == 2 })
	// Four more that may go anywhere spill at once.
	spilled := make([]result, 4)
	var swg sync.WaitGroup
	for i := range spilled {
		swg.Add(1)
		go func() {
			defer swg.Done()
			r, b := e.do(t, "key-open", chatBody("spill", fmt.Sprintf("quick question %d", i), false))
			spilled[i] = result{r.StatusCode, r.Header.Get("X-Fulcrum-Provider"), b, ""}
		}()
	}
	swg.Wait()
	for i, r := range spilled {
		if r.status != 200 || r.provider != "api" {
			t.Fatalf("permitted request %d: %d from %q; want a spill to api", i, r.status, r.provider)
		}
	}
	// Three that must stay self-hosted queue, then time out cleanly.
	sensitive := make([]result, 3)
	for i := range sensitive {
		swg.Add(1)
		go func() {
			defer swg.Done()
			r, b := e.do(t, "key-default", chatBody("spill", fmt.Sprintf("call carol%d@example.com back", i), false))
			sensitive[i] = result{r.StatusCode, r.Header.Get("X-Fulcrum-Provider"), b, r.Header.Get("Retry-After")}
		}()
	}
	swg.Wait()
	close(vllm.hold)
	wg.Wait()
	for i, r := range sensitive {
		var eb struct {
			Error struct{ Type, Code, Message string } `json:"error"`
		}
		if r.status != 503 || json.Unmarshal([]byte(r.body), &eb) != nil || eb.Error.Code != "capacity_timeout" || r.retryAfter == "" {
			t.Fatalf("sensitive request %d: %d Retry-After %q %s; want 503 capacity_timeout with Retry-After", i, r.status, r.retryAfter, r.body)
		}
	}
	for i, r := range busy {
		if r.status != 200 || r.provider != "gpu" {
			t.Fatalf("first request %d: %d from %q", i, r.status, r.provider)
		}
	}
	if m := vllm.maxSeen.Load(); m > 2 {
		t.Fatalf("the self-hosted server saw %d requests at once; its limit is 2", m)
	}
	for _, req := range e.api.Log.All() {
		if strings.Contains(string(req.Body), "@example.com") {
			t.Fatalf("a sensitive value reached the proprietary api: %s", req.Body)
		}
	}
	mr, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(mr.Body)
	mr.Body.Close()
	for _, want := range []string{`fulcrum_spillover_total{provider="gpu"} 4`, `fulcrum_capacity_rejected_total{provider="gpu",reason="timeout"} 3`} {
		if !strings.Contains(string(mb), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(string(mb), `fulcrum_spillover_cost_usd_total{provider="gpu"}`) || strings.Contains(string(mb), `fulcrum_spillover_cost_usd_total{provider="gpu"} 0`+"\n") {
		t.Errorf("spilled cost not counted")
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
