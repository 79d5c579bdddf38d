package gateway_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/policy"
)

// errBody is the error object of either wire format.
type errBody struct {
	Type  string `json:"type"` // anthropic: "error"
	Error struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Param   string `json:"param"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeErr(t *testing.T, s string) errBody {
	t.Helper()
	var e errBody
	if err := json.Unmarshal([]byte(s), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an error object: %s", s)
	}
	return e
}

// TestInputLimits: each bounded input is refused before decoding, with the
// right status, in the client's own error format, and nothing reaches the
// upstream.
func TestInputLimits(t *testing.T) {
	e := newEnv(t)
	many := `{"model":"m-openai","messages":[` + strings.Repeat(`{"role":"user","content":"a"},`, 500_000) + `{"role":"user","content":"a"}]}`
	deep := `{"model":"m-openai","messages":[{"role":"user","content":"hi"}],"metadata":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200) + `}`
	// 300,000 content parts in one message cost seconds of policy scan
	// and decoding; they were served.
	parts := `{"model":"m-openai","messages":[{"role":"user","content":[` + strings.Repeat(`{"type":"text","text":"a"},`, 300_000) + `{"type":"text","text":"a"}]}]}`
	blocks := `{"model":"m-anthropic","max_tokens":10,"messages":[{"role":"user","content":[` + strings.Repeat(`{"type":"text","text":"a"},`, 10_000) + `{"type":"text","text":"a"}]}]}`
	tools := `{"model":"m-openai","messages":[{"role":"user","content":"hi"}],"tools":[` + strings.Repeat(`{"type":"function","function":{"name":"f"}},`, 10_000) + `{"type":"function","function":{"name":"f"}}]}`
	strs := `{"model":"m-openai","messages":[{"role":"user","content":"hi"}],"metadata":{"k":[[` + strings.Repeat(`"a",`, 20_000) + `"a"]]}}`
	// A 5 MB model name was logged, recorded and echoed in the 404 whole.
	long := strings.Repeat("m", 100_000)
	for _, c := range []struct {
		name, path, body       string
		status                 int
		anthropic              bool
		param, code, inMessage string
	}{
		// max_tokens 2^63-1 used to price to a worst case that wrapped the
		// budget check and admitted every request while it was in flight.
		{"max_tokens 2^63-1 openai", "/v1/chat/completions", `{"model":"m-openai","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"hi"}]}`, 400, false, "max_tokens", "integer_above_max_value", "<= 16777216"},
		{"max_tokens 2^64 openai", "/v1/chat/completions", `{"model":"m-openai","max_completion_tokens":18446744073709551616,"messages":[{"role":"user","content":"hi"}]}`, 400, false, "max_completion_tokens", "integer_above_max_value", ""},
		{"max_tokens anthropic", "/v1/messages", `{"model":"m-anthropic","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"hi"}]}`, 400, true, "", "", "max_tokens"},
		{"budget_tokens anthropic", "/v1/messages", `{"model":"m-anthropic","max_tokens":1024,"thinking":{"type":"enabled","budget_tokens":99999999999},"messages":[{"role":"user","content":"hi"}]}`, 400, true, "", "", "thinking.budget_tokens"},
		{"n", "/v1/chat/completions", `{"model":"m-openai","n":100000,"messages":[{"role":"user","content":"hi"}]}`, 400, false, "n", "integer_above_max_value", ""},
		{"500k messages", "/v1/chat/completions", many, 413, false, "messages", "too_many_messages", "10000"},
		{"nesting", "/v1/chat/completions", deep, 400, false, "", "json_too_deep", "128"},
		{"300k content parts", "/v1/chat/completions", parts, 413, false, "content", "too_many_elements", "10000"},
		{"10001 content blocks anthropic", "/v1/messages", blocks, 413, true, "", "", "content"},
		{"10001 tools", "/v1/chat/completions", tools, 413, false, "tools", "too_many_elements", "10000"},
		{"20001 strings in a nested array", "/v1/chat/completions", strs, 413, false, "", "too_many_elements", "10000"},
		{"model name 100k openai", "/v1/chat/completions", `{"model":"` + long + `","messages":[{"role":"user","content":"hi"}]}`, 400, false, "model", "string_above_max_length", "maximum length 256"},
		{"model name 100k anthropic", "/v1/messages", `{"model":"` + long + `","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, 400, true, "", "", "maximum length 256"},
		{"model name 100k count_tokens", "/v1/messages/count_tokens", `{"model":"` + long + `","messages":[{"role":"user","content":"hi"}]}`, 400, true, "", "", "maximum length 256"},
		{"model name 100k embeddings", "/v1/embeddings", `{"model":"` + long + `","input":"hi"}`, 400, false, "model", "string_above_max_length", ""},
		{"model name 100k responses", "/v1/responses", `{"model":"` + long + `","input":"hi"}`, 400, false, "model", "string_above_max_length", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(e.oa.Log.All()) + len(e.an.Log.All())
			resp, out := e.post(t, c.path, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, c.status, out)
			}
			eb := decodeErr(t, out)
			if c.anthropic != (eb.Type == "error") {
				t.Errorf("error not in the client's format: %s", out)
			}
			if eb.Error.Param != c.param || eb.Error.Code != c.code || !strings.Contains(eb.Error.Message, c.inMessage) {
				t.Errorf("error %+v", eb.Error)
			}
			if after := len(e.oa.Log.All()) + len(e.an.Log.All()); after != before {
				t.Error("the request reached an upstream")
			}
		})
	}
	// Within the limits: served. An array of numbers (a prompt's token
	// ids) is not counted.
	if resp, out := e.post(t, "/v1/embeddings", `{"model":"m-openai","input":[[`+strings.Repeat("1234,", 30_000)+`1]]}`); resp.StatusCode == http.StatusRequestEntityTooLarge {
		t.Errorf("30,000 token ids: %d %.300s", resp.StatusCode, out)
	}
	if resp, out := e.post(t, "/v1/chat/completions", `{"model":"m-openai","messages":[{"role":"user","content":[`+strings.Repeat(`{"type":"text","text":"a"},`, 9_999)+`{"type":"text","text":"a"}]}]}`); resp.StatusCode != 200 {
		t.Errorf("10,000 content parts: %d %.300s", resp.StatusCode, out)
	}
	if resp, out := e.post(t, "/v1/chat/completions", `{"model":"m-openai","max_tokens":16777216,"n":1,"messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Errorf("max_tokens at the limit: %d %s", resp.StatusCode, out)
	}
}

// TestFulcrumHeadersBounded: oversized x-fulcrum-* headers get 431 in the
// client's format.
func TestFulcrumHeadersBounded(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/messages", strings.NewReader(`{"model":"m-anthropic","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("X-Fulcrum-Data-Class", strings.Repeat("pii,", 3000))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 431 || decodeErr(t, string(b)).Type != "error" {
		t.Errorf("status %d: %s", resp.StatusCode, b)
	}
}

// TestInFlightLimit: past MaxInFlight a request gets 503 with Retry-After
// at once instead of a goroutine waiting its turn.
func TestInFlightLimit(t *testing.T) {
	e := newEnvWith(t, func(o *gateway.Options) { o.Inputs.MaxInFlight = 2 })
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(e.srv.URL+"/v1/chat/completions", "application/json",
				strings.NewReader(`{"model":"m-openai","messages":[{"role":"user","content":"[[slow]]"}]}`))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	defer wg.Wait()
	deadline := time.Now().Add(time.Second)
	for len(e.oa.Log.All()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	resp, out := e.post(t, "/v1/chat/completions", `{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || decodeErr(t, out).Error.Code != "server_overloaded" {
		t.Errorf("third request: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("the refusal took %s", d)
	}
}

// TestSlowBodiesCut: 100 connections declaring Content-Length: 20971520
// and trickling 10 bytes used to make the gateway allocate 20 MiB each
// (2.1 GB of heap) and hold them forever. Memory now follows what arrived,
// and each is cut (408) at BodyTimeout.
func TestSlowBodiesCut(t *testing.T) {
	e := newEnvWith(t, func(o *gateway.Options) { o.Inputs.BodyTimeout = 500 * time.Millisecond })
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 100
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20971520\r\n\r\n{\"model\":")
	}
	time.Sleep(200 * time.Millisecond)
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	if grew := int64(during.HeapAlloc) - int64(before.HeapAlloc); grew > 64<<20 {
		t.Errorf("heap grew by %d MiB for %d trickling connections", grew>>20, n)
	}
	start := time.Now()
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("conn %d: no response: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("conn %d: status %d, want 408", i, resp.StatusCode)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("slow bodies held for %s", d)
	}
}

// TestStalledConnectionsClosed: a connection that sends part of its
// headers and stalls is closed at ReadHeaderTimeout (Go's server), and one
// that stalls in its body at BodyTimeout; neither is held open.
func TestStalledBodyClosed(t *testing.T) {
	e := newEnvWith(t, func(o *gateway.Options) { o.Inputs.BodyTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 408 || decodeErr(t, string(b)).Type != "error" {
		t.Errorf("status %d: %s", resp.StatusCode, b)
	}
	// The server closes the connection after a cut body.
	if _, err := br.ReadByte(); err == nil {
		t.Error("connection still open after the cut")
	}
}

// policyGuard is the data policy as the app wires it: the engine reads
// the exact body the gateway hands it.
type policyGuard struct{ e *policy.Engine }

func (g policyGuard) Evaluate(in *gateway.PolicyInput) (gateway.Verdict, error) {
	return g.e.EvaluateBody(policy.Input{Body: in.Body, Declared: in.Declared, Opaque: in.Forwarded})
}

func newPolicyEnv(t *testing.T, tweak func(o *gateway.Options)) *env {
	t.Helper()
	eng, err := policy.New(config.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	return newEnvWith(t, func(o *gateway.Options) {
		o.Guard = policyGuard{eng}
		if tweak != nil {
			tweak(o)
		}
	})
}

// TestContentEncoding: a compressed body is decoded before policy scans it
// and what is forwarded is the decoded JSON policy scanned; a value in it
// is found as in a plain body. A coding the gateway cannot decode is
// refused (415 in the client's format) and nothing is forwarded. Before,
// a gzip body was read as JSON as it was (400 "not valid JSON").
func TestContentEncoding(t *testing.T) {
	e := newPolicyEnv(t, func(o *gateway.Options) { o.MaxBodyBytes = 1 << 20 })
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	zl := func(s string) []byte {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	raw := func(s string) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.DefaultCompression)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	zs := func(s string) []byte {
		w, _ := zstd.NewWriter(nil)
		defer w.Close()
		return w.EncodeAll([]byte(s), nil)
	}
	const clean = `{"model":"m-openai","messages":[{"role":"user","content":"hello there"}]}`
	const mail = `{"model":"m-openai","messages":[{"role":"user","content":"mail ann.leak@example.com"}]}`
	const anth = `{"model":"m-anthropic","max_tokens":10,"messages":[{"role":"user","content":"mail ann.leak@example.com"}]}`
	bomb := gz(`{"model":"m-openai","messages":[{"role":"user","content":"` + strings.Repeat("a", 2<<20) + `"}]}`)
	for _, c := range []struct {
		name, path, enc string
		body            []byte
		status          int
		code            string
		anthropic       bool
	}{
		{"gzip clean", "/v1/chat/completions", "gzip", gz(clean), 200, "", false},
		{"x-gzip clean", "/v1/chat/completions", "x-gzip", gz(clean), 200, "", false},
		{"deflate (zlib) clean", "/v1/chat/completions", "deflate", zl(clean), 200, "", false},
		{"raw deflate clean", "/v1/chat/completions", "deflate", raw(clean), 200, "", false},
		{"gzip twice", "/v1/chat/completions", "gzip, gzip", gz(string(gz(clean))), 200, "", false},
		{"identity", "/v1/chat/completions", "identity", []byte(clean), 200, "", false},
		{"gzip email", "/v1/chat/completions", "gzip", gz(mail), 403, "no_compliant_target", false},
		{"gzip email, anthropic pass-through", "/v1/messages", "GZIP", gz(anth), 403, "", true},
		{"brotli", "/v1/chat/completions", "br", []byte("\x0b\x02\x80hello\x03"), 415, "unsupported_content_encoding", false},
		{"br, anthropic", "/v1/messages", "br", []byte("\x0b\x02\x80hello\x03"), 415, "", true},
		{"zstd clean (Codex CLI)", "/v1/chat/completions", "zstd", zs(clean), 200, "", false},
		{"zstd email, anthropic pass-through", "/v1/messages", "zstd", zs(anth), 403, "", true},
		{"zstd email", "/v1/chat/completions", "zstd", zs(mail), 403, "no_compliant_target", false},
		{"zstd cut short", "/v1/chat/completions", "zstd", zs(clean)[:12], 400, "invalid_content_encoding", false},
		{"zstd bomb", "/v1/chat/completions", "zstd", zs(`{"model":"m-openai","messages":[{"role":"user","content":"` + strings.Repeat("a", 2<<20) + `"}]}`), 413, "request_too_large", false},
		{"gzip then br", "/v1/chat/completions", "gzip, br", gz(clean), 415, "unsupported_content_encoding", false},
		{"not gzip", "/v1/chat/completions", "gzip", []byte(clean), 400, "invalid_content_encoding", false},
		{"bomb", "/v1/chat/completions", "gzip", bomb, 413, "request_too_large", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.oa.Log.Reset()
			e.an.Log.Reset()
			req, _ := http.NewRequest("POST", e.srv.URL+c.path, bytes.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", c.enc)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, c.status, b)
			}
			got := append(e.oa.Log.All(), e.an.Log.All()...)
			if c.status != 200 {
				eb := decodeErr(t, string(b))
				if c.anthropic != (eb.Type == "error") || c.code != "" && eb.Error.Code != c.code {
					t.Errorf("error %s", b)
				}
				if len(got) != 0 {
					t.Errorf("%d requests reached an upstream: %s", len(got), got[0].Body)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d upstream requests", len(got))
			}
			if !json.Valid(got[0].Body) || !strings.Contains(string(got[0].Body), "hello there") || got[0].Header.Get("Content-Encoding") != "" {
				t.Errorf("upstream received %q (Content-Encoding %q), want the decoded JSON", got[0].Body, got[0].Header.Get("Content-Encoding"))
			}
		})
	}
}

// Request bodies held at once are bounded all together: max_in_flight
// alone let 4096 bodies of max_body_bytes (80 GiB) be held. A request
// whose body would go past server.max_body_memory gets 503 with
// Retry-After; the memory comes back when the request holding it ends.
func TestBodyMemoryBounded(t *testing.T) {
	e := newEnvWith(t, func(o *gateway.Options) { o.Inputs.MaxBodyMemory = 300 << 10 })
	// A client that declares 1 MB and sends 200 KB holds 256 KiB of
	// buffer (grown by doubling from 64 KiB).
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n%s", `{"model":"m-openai","messages":[{"role":"user","content":"`+strings.Repeat("a", 200<<10))
	time.Sleep(300 * time.Millisecond)

	small := `{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`
	large := `{"model":"m-openai","messages":[{"role":"user","content":"` + strings.Repeat("b", 100<<10) + `"}]}`
	if resp, out := e.post(t, "/v1/chat/completions", small); resp.StatusCode != 200 {
		t.Fatalf("a small body within the memory left: %d %s", resp.StatusCode, out)
	}
	resp, out := e.post(t, "/v1/chat/completions", large)
	if resp.StatusCode != 503 {
		t.Fatalf("a body past the memory left: %d %.200s", resp.StatusCode, out)
	}
	if eb := decodeErr(t, out); eb.Error.Code != "server_overloaded" || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("a body past the memory left: %s, Retry-After %q", out, resp.Header.Get("Retry-After"))
	}
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, out := e.post(t, "/v1/chat/completions", large)
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first request's memory was not given back: %d %.200s", resp.StatusCode, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
