package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

func post(t testing.TB, g *gateway, path, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t), "POST", g.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+masterKey)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

type openaiErr struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

type anthropicErr struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// TestErrorsInClientFormat checks bad input and upstream faults come back as
// the client's own error object with the right status.
func TestErrorsInClientFormat(t *testing.T) {
	u := startUpstreams(t)
	// Fault scenarios use their own models: repeated failures open a
	// target's circuit breaker, and that must not leak into other cases.
	cfg := strings.Replace(u.config(), "models:\n", "models:\n  - { name: m-anthropic-faults, provider: p-anthropic, upstream: claude-sonnet-4-5 }\n", 1)
	g := startGateway(t, cfg+"\nserver: { max_body_bytes: 4096 }\n", "FULCRUM_MASTER_KEY="+masterKey)
	user := func(text string) string {
		return `[{"role":"user","content":` + jsonString(text) + `}]`
	}
	tests := []struct {
		name, path, body string
		status           int
		code, typ        string // OpenAI code / Anthropic error type
		retryAfter       bool
	}{
		{"openai malformed", "/v1/chat/completions", `{"model":`, 400, "", "invalid_request_error", false},
		{"openai missing messages", "/v1/chat/completions", `{"model":"m-openai"}`, 400, "", "invalid_request_error", false},
		{"openai wrong type", "/v1/chat/completions", `{"model":"m-openai","messages":"hi"}`, 400, "", "invalid_request_error", false},
		{"openai unknown model", "/v1/chat/completions", `{"model":"nope","messages":` + user("hi") + `}`, 404, "model_not_found", "invalid_request_error", false},
		{"openai too large", "/v1/chat/completions", `{"model":"m-openai","messages":` + user(strings.Repeat("x", 5000)) + `}`, 413, "", "", false},
		{"openai upstream 429", "/v1/chat/completions", `{"model":"m-openai","messages":` + user("[[429]]") + `}`, 429, "", "", true},
		{"openai via anthropic 429", "/v1/chat/completions", `{"model":"m-anthropic-faults","messages":` + user("[[429]]") + `}`, 429, "", "", true},
		{"openai upstream 500", "/v1/chat/completions", `{"model":"m-gemini","messages":` + user("[[500]]") + `}`, 500, "", "", false},
		{"anthropic malformed", "/v1/messages", `{"model":`, 400, "", "invalid_request_error", false},
		{"anthropic missing max_tokens", "/v1/messages", `{"model":"m-anthropic","messages":` + user("hi") + `}`, 400, "", "invalid_request_error", false},
		{"anthropic unknown model", "/v1/messages", `{"model":"nope","max_tokens":10,"messages":` + user("hi") + `}`, 404, "", "not_found_error", false},
		{"anthropic upstream 429", "/v1/messages", `{"model":"m-anthropic-faults","max_tokens":10,"messages":` + user("[[429]]") + `}`, 429, "", "rate_limit_error", true},
		{"anthropic via openai 429", "/v1/messages", `{"model":"m-openai","max_tokens":10,"messages":` + user("[[429]]") + `}`, 429, "", "rate_limit_error", true},
		{"anthropic overloaded", "/v1/messages", `{"model":"m-anthropic-faults","max_tokens":10,"messages":` + user("[[503]]") + `}`, 503, "", "overloaded_error", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, g, tt.path, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no x-request-id")
			}
			if tt.retryAfter && resp.Header.Get("Retry-After") == "" {
				t.Error("Retry-After not passed on")
			}
			if strings.HasPrefix(tt.path, "/v1/messages") {
				var e anthropicErr
				if err := json.Unmarshal(body, &e); err != nil || e.Type != "error" || e.Error.Message == "" {
					t.Fatalf("not an Anthropic error object: %s", body)
				}
				if tt.typ != "" && e.Error.Type != tt.typ {
					t.Errorf("error.type = %q, want %q", e.Error.Type, tt.typ)
				}
				return
			}
			var e openaiErr
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("not an OpenAI error object: %s", body)
			}
			if tt.typ != "" && e.Error.Type != tt.typ {
				t.Errorf("error.type = %q, want %q", e.Error.Type, tt.typ)
			}
			if tt.code != "" && (e.Error.Code == nil || *e.Error.Code != tt.code) {
				t.Errorf("error.code = %v, want %q", e.Error.Code, tt.code)
			}
		})
	}

	t.Run("no key", func(t *testing.T) {
		req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(`{}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("status = %d, want 401", resp.StatusCode)
		}
	})

	t.Run("anthropic key header and any version", func(t *testing.T) {
		resp, body := post(t, g, "/v1/messages", `{"model":"m-anthropic","max_tokens":10,"messages":`+user("hi")+`}`,
			"Authorization", "", "x-api-key", masterKey, "anthropic-version", "2099-01-01")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if resp.Header.Get("X-Fulcrum-Provider") != "p-anthropic" {
			t.Errorf("provider header = %q", resp.Header.Get("X-Fulcrum-Provider"))
		}
	})
}

// TestStreamCutEndsWithError: a stream cut by the upstream ends the client's
// stream with an error event, never a fake [DONE].
func TestStreamCutEndsWithError(t *testing.T) {
	u := startUpstreams(t)
	g := startGateway(t, u.config(), "FULCRUM_MASTER_KEY="+masterKey)
	for _, pm := range providerModels {
		t.Run("openai/"+pm.provider, func(t *testing.T) {
			_, body := post(t, g, "/v1/chat/completions", `{"model":"`+pm.model+`","stream":true,"messages":[{"role":"user","content":"[[cut]]"}]}`)
			s := string(body)
			if strings.Contains(s, "[DONE]") {
				t.Errorf("cut stream ended with [DONE]:\n%s", s)
			}
			if !strings.Contains(s, `"error"`) {
				t.Errorf("cut stream has no error event:\n%s", s)
			}
		})
		t.Run("anthropic/"+pm.provider, func(t *testing.T) {
			_, body := post(t, g, "/v1/messages", `{"model":"`+pm.model+`","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"[[cut]]"}]}`)
			s := string(body)
			if strings.Contains(s, "message_stop") {
				t.Errorf("cut stream ended with message_stop:\n%s", s)
			}
			if !strings.Contains(s, "event: error") {
				t.Errorf("cut stream has no error event:\n%s", s)
			}
		})
	}
}

// TestClientDisconnectCancelsUpstream: a client that goes away mid-stream
// cancels the upstream call.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	u := startUpstreams(t)
	g := startGateway(t, u.config(), "FULCRUM_MASTER_KEY="+masterKey)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"m-openai","stream":true,"messages":[{"role":"user","content":"[[slow]] hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+masterKey)
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Wait until the upstream has the request, then leave.
	deadline := time.Now().Add(10 * time.Second)
	for len(u.openai.Log.All()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	// The gateway logs the request as 499 once it noticed.
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(g.Logs(), "status=499") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(g.Logs(), "status=499") {
		t.Errorf("cancelled request not logged as 499:\n%s", g.Logs())
	}
}

// TestGracefulShutdown: SIGTERM lets an in-flight stream finish.
func TestGracefulShutdown(t *testing.T) {
	u := startUpstreams(t)
	g := startGateway(t, u.config(), "FULCRUM_MASTER_KEY="+masterKey)
	req, _ := http.NewRequestWithContext(ctxT(t), "POST", g.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"m-openai","stream":true,"messages":[{"role":"user","content":"[[slow]] finish me"}]}`))
	req.Header.Set("Authorization", "Bearer "+masterKey)
	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var sb strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			sb.WriteString(sc.Text() + "\n")
		}
		res <- result{sb.String(), sc.Err()}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(u.openai.Log.All()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- g.Stop() }()
	r := <-res
	if r.err != nil {
		t.Fatalf("in-flight stream failed during shutdown: %v", r.err)
	}
	if !strings.Contains(r.body, "[DONE]") || !strings.Contains(r.body, `"finish_reason":"stop"`) {
		t.Errorf("stream did not complete:\n%s", r.body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("exit: %v", err)
	}
	// New connections are refused after shutdown.
	if _, err := http.Get(g.URL + "/healthz"); err == nil {
		t.Error("gateway still accepting after SIGTERM")
	}
	_ = fake.SlowDelay
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestSecondSignalForcesExit: the first SIGTERM drains (a stream in flight
// goes on); a second one ends the process at once, as operators expect of
// a second Ctrl-C. Before, every signal after the first was swallowed: a
// long drain, or `fulcrum advise` computing on an extreme profile, could
// only be stopped with kill -9.
func TestSecondSignalForcesExit(t *testing.T) {
	u := startUpstreams(t)
	g := startGateway(t, u.config(), "FULCRUM_MASTER_KEY="+masterKey)
	req, _ := http.NewRequestWithContext(ctxT(t), "POST", g.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"m-openai","stream":true,"messages":[{"role":"user","content":"[[slow]] finish me"}]}`))
	req.Header.Set("Authorization", "Bearer "+masterKey)
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(u.openai.Log.All()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
		t.Fatal("the gateway exited at the first SIGTERM with a stream in flight; want it to drain")
	case <-time.After(300 * time.Millisecond):
	}
	second := time.Now()
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
		if d := time.Since(second); d > fake.SlowDelay/2 {
			t.Errorf("exited %v after the second SIGTERM; want at once", d)
		}
	case <-time.After(fake.SlowDelay / 2):
		t.Fatalf("still running %v after a second SIGTERM (the stream takes %v)", fake.SlowDelay/2, fake.SlowDelay)
	}
	g.cmd.Wait()
}
