package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Without --config no model is configured: every call fails. The command
// must exit non-zero, print the error counts and still write the reports;
// a second run keeps the first results.
func TestEvalFailsWhenCallsFail(t *testing.T) {
	out := filepath.Join(t.TempDir(), "quick")
	args := []string{"eval", "../../examples/eval/quick.yaml", "--out", out, "--no-cache"}
	_, stderr, err := opRun(t, args...)
	if err == nil || !strings.Contains(err.Error(), "mixtral-8x7b, gpt-4") {
		t.Fatalf("err = %v, want a failure naming both models", err)
	}
	if !strings.Contains(stderr, "eval quick: 10 calls, 10 failed: mixtral-8x7b 5 of 5 failed (first: 404 ") {
		t.Errorf("stderr lacks the error summary:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "results.json")); err != nil {
		t.Fatal(err)
	}
	_, stderr, _ = opRun(t, args...)
	if !strings.Contains(stderr, "already holds results: keeping them") {
		t.Errorf("second run:\n%s", stderr)
	}
	// With the demo config the replay models answer: exit 0.
	_, stderr, err = opRun(t, "eval", "../../examples/eval/quick.yaml", "--config", "../../examples/demo.yaml", "--out", out, "--force", "--no-cache")
	if err != nil || !strings.Contains(stderr, "10 calls, 0 failed") {
		t.Errorf("demo run: %v\n%s", err, stderr)
	}
}

// --retries 0 means no retries: an upstream answering 503 is called once
// a case (2 cases, 1 model), not three times (the suite's default of 2
// retries, which 0 was read as before). Negative is refused.
func TestEvalRetriesZeroIsNone(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":{"message":"overloaded","type":"server_error"}}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg, suite := filepath.Join(dir, "gw.yaml"), filepath.Join(dir, "s.yaml")
	os.WriteFile(cfg, []byte("providers:\n  - { name: up, type: openai, base_url: "+srv.URL+"/v1, api_key: k }\nmodels:\n  - { name: m, provider: up, upstream: m }\n"), 0o644)
	os.WriteFile(suite, []byte("name: s\nmodels: [m]\nprompt: \"{{q}}\"\nassert: [{type: contains, value: x}]\ncases:\n  - vars: {q: a}\n  - vars: {q: b}\n"), 0o644)
	for _, c := range []struct {
		args []string
		hits int64
	}{{[]string{"--retries", "0"}, 2}, {nil, 6}} {
		hits.Store(0)
		args := append([]string{"eval", suite, "--config", cfg, "--out", filepath.Join(t.TempDir(), "out"), "--no-cache"}, c.args...)
		if _, _, err := opRun(t, args...); err == nil {
			t.Errorf("%v: every call failed, exit status 0", c.args)
		}
		if got := hits.Load(); got != c.hits {
			t.Errorf("%v: %d upstream calls, want %d", c.args, got, c.hits)
		}
	}
	if _, _, err := opRun(t, "eval", suite, "--config", cfg, "--retries", "-1", "--out", filepath.Join(t.TempDir(), "neg")); err == nil || !strings.Contains(err.Error(), "--retries must not be negative") {
		t.Errorf("--retries -1: %v", err)
	}
}
