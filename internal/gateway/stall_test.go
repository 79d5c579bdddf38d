package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/openai"
	"github.com/fulcrumhq/fulcrum/internal/router"
)

// A client that sends a streaming request and then stops reading held its
// request, its in-flight slot and the upstream call for as long as it kept
// the connection open, the upstream generating into full socket buffers.
// With server.write_stall a write that makes no progress for that long
// fails: the upstream call is cancelled and the slot freed. A client that
// reads, however slowly, is not cut.
func TestWriteStallCutsClientThatStopsReading(t *testing.T) {
	gone := make(chan struct{}, 4)
	// An OpenAI-format upstream that streams chunks until its client goes
	// (https://platform.openai.com/docs/api-reference/chat-streaming).
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"` + strings.Repeat("lorem ipsum ", 300) + `"},"finish_reason":null}]}` + "\n\n"
		for {
			if _, err := fmt.Fprint(w, chunk); err != nil {
				break
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				gone <- struct{}{}
				return
			default:
			}
		}
		<-r.Context().Done()
		gone <- struct{}{}
	}))
	defer up.Close()
	p, err := openai.New(config.Provider{Name: "p", Type: "openai", BaseURL: up.URL + "/v1", APIKey: "k", Hosting: "proprietary"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Providers: []config.Provider{{Name: "p", Type: "openai"}},
		Models: []config.Model{{Name: "m", Provider: "p", Upstream: "gpt-4o", Type: "chat"}}}
	r, err := router.New(cfg, map[string]provider.Provider{"p": p}, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gateway.New(gateway.Options{Router: r, Inputs: gateway.Inputs{WriteStall: 300 * time.Millisecond}}))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A small receive buffer, so the gateway's writes block soon.
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"go on forever"}]}`
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	// Never read. The upstream call must end well before the test's own
	// deadline; without the write deadline it went on until the client
	// closed.
	select {
	case <-gone:
	case <-time.After(20 * time.Second):
		t.Fatal("the upstream call was still streaming 20 s after the client stopped reading")
	}
}

// A keep-alive connection idle for longer than write_stall after an
// answer still serves its next request, an Expect: 100-continue one
// included, although the previous request's write deadline has long
// passed by then.
func TestWriteStallKeepAliveIdle(t *testing.T) {
	e := newEnvWith(t, func(o *gateway.Options) { o.Inputs.WriteStall = 200 * time.Millisecond })
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	body := `{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`
	for i, expect := range []bool{false, true} {
		if i > 0 {
			time.Sleep(500 * time.Millisecond) // idle past the deadline
		}
		hdr := fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", len(body))
		if expect {
			hdr += "Expect: 100-continue\r\n"
		}
		fmt.Fprint(conn, hdr+"\r\n")
		if expect {
			line, err := br.ReadString('\n')
			if err != nil || !strings.Contains(line, "100 Continue") {
				t.Fatalf("request %d: %q, %v; want 100 Continue", i, line, err)
			}
			if _, err := br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprint(conn, body)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
		}
	}
}

// A request refused before its body was read (a wrong key, a declared
// Content-Length over the limit, an unknown path) whose client declared a
// body and sent none of it never got its answer: Go's server reads what
// is left of an unread body, with no deadline, before it writes the
// response, so the connection was held as long as the client kept it open
// (unauthenticated, thousands of them). The answer now comes at once,
// with Connection: close.
func TestRefusedBeforeBodyAnswered(t *testing.T) {
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") })
	e := newEnvWith(t, func(o *gateway.Options) { o.MasterKey = "mk-test"; o.Admin = admin })
	for _, c := range []struct {
		name, head string
		status     int
		want       string // in the body
	}{
		{"wrong key", "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer nope\r\nContent-Length: 100\r\n", 401, `{"error":{`},
		{"wrong key, anthropic", "POST /v1/messages HTTP/1.1\r\nx-api-key: nope\r\nanthropic-version: 2023-06-01\r\nContent-Length: 100\r\n", 401, `{"type":"error"`},
		{"wrong key, chunked", "POST /v1/responses HTTP/1.1\r\nAuthorization: Bearer nope\r\nTransfer-Encoding: chunked\r\n", 401, `{"error":{`},
		{"wrong key, 100-continue", "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer nope\r\nExpect: 100-continue\r\nContent-Length: 100\r\n", 401, `{"error":{`},
		{"declared over the limit", "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer mk-test\r\nContent-Length: 30000000\r\n", 413, "request_too_large"},
		{"admin, wrong key", "POST /admin/keys HTTP/1.1\r\nAuthorization: Bearer nope\r\nContent-Length: 100\r\n", 401, `{"error":{`},
		{"unknown path", "POST /nothing HTTP/1.1\r\nContent-Length: 100\r\n", 404, ""},
		// A client that did send its whole body still reads its answer
		// (no reset from a close with its body unread).
		{"wrong key, body sent", "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer nope\r\nContent-Length: 200000\r\n", 401, `{"error":{`},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(3 * time.Second))
			fmt.Fprint(conn, c.head+"Host: x\r\nContent-Type: application/json\r\n\r\n")
			if strings.HasSuffix(c.name, "body sent") {
				fmt.Fprint(conn, strings.Repeat(" ", 200000))
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || !strings.Contains(string(b), c.want) || !resp.Close {
				t.Errorf("got %d %q (close %v), want %d with %q and Connection: close", resp.StatusCode, b, resp.Close, c.status, c.want)
			}
			// And the server lets the connection go: after the answer it
			// went on waiting, with no deadline, for the body's rest.
			conn.SetReadDeadline(time.Now().Add(4 * time.Second))
			if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("connection still open after the answer: %v", err)
			}
		})
	}
}
