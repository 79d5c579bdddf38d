package gateway_test

import (
	"fmt"
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
