package app

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServerErrorsInClientFormat: the errors Go's HTTP server writes
// before any handler runs — headers past server.max_header_bytes, a
// malformed request, an unknown transfer encoding — reach the client as
// its own error object (OpenAI's, or Anthropic's on /v1/messages and for
// a request carrying anthropic-version), with the right status.
func TestServerErrorsInClientFormat(t *testing.T) {
	t.Setenv("FULCRUM_KEEP_START_PAGES", "1")
	c := parse(t, `
server: { listen: "127.0.0.1:0", max_header_bytes: 4096 }
storage: { data_dir: `+t.TempDir()+` }
`)
	addr := listening(t, c)

	big := "X-Big: " + strings.Repeat("a", 16<<10) + "\r\n"
	cases := []struct {
		name, req  string
		status     int
		anthropic  bool
		code, text string
	}{
		{"headers too large, OpenAI", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + big + "\r\n", 431, false, "headers_too_large", "4096 bytes"},
		{"headers too large, Anthropic", "POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\n" + big + "\r\n", 431, true, "", "4096 bytes"},
		{"headers too large, anthropic-version", "GET /v1/models HTTP/1.1\r\nHost: x\r\nAnthropic-Version: 2023-06-01\r\n" + big + "\r\n", 431, true, "", "max_header_bytes"},
		{"malformed header line", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400, false, "malformed_request", "malformed"},
		{"missing Host", "POST /v1/messages HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400, true, "", "missing required Host header"},
		{"unknown transfer encoding", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, false, "unsupported_transfer_encoding", "Transfer-Encoding"},
		// A keep-alive connection: the first request is served, the
		// second's format is read from its own request line.
		{"second request on a connection", "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n" + "POST /v1/messages HTTP/1.1\r\nHost: x\r\n" + big + "\r\n", 431, true, "", "4096 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			if strings.HasPrefix(tc.req, "GET /healthz") {
				first, rest, _ := strings.Cut(tc.req, "\r\n\r\n")
				io.WriteString(conn, first+"\r\n\r\n")
				resp, err := http.ReadResponse(br, nil)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("first request: %v %v", resp, err)
				}
				io.Copy(io.Discard, resp.Body)
				tc.req = rest
			}
			go io.WriteString(conn, tc.req)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q, body %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			var e struct {
				Type  string
				Error struct{ Type, Message, Code string }
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("not JSON: %s", body)
			}
			if tc.anthropic && (e.Type != "error" || e.Error.Type != "invalid_request_error") {
				t.Fatalf("want Anthropic's error object: %s", body)
			}
			if !tc.anthropic && (e.Type != "" || e.Error.Type != "invalid_request_error" || e.Error.Code != tc.code) {
				t.Fatalf("want OpenAI's error object with code %q: %s", tc.code, body)
			}
			if !strings.Contains(e.Error.Message, tc.text) {
				t.Fatalf("message %q does not say %q", e.Error.Message, tc.text)
			}
		})
	}
}

// TestGoServerError: only the server's own errors are rewritten; a
// handler's response, whatever it says, passes as it is.
func TestGoServerError(t *testing.T) {
	for _, tc := range []struct {
		p      string
		status int
		text   string
		ok     bool
	}{
		{"HTTP/1.1 431 Request Header Fields Too Large" + goServerErrorHeaders + "431 Request Header Fields Too Large", 431, "", true},
		{"HTTP/1.1 400 Bad Request: missing required Host header" + goServerErrorHeaders + "400 Bad Request: missing required Host header", 400, "missing required Host header", true},
		{"HTTP/1.1 501 Not Implemented" + goServerErrorHeaders + "Unsupported transfer encoding", 501, "", true},
		{"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbad", 0, "", false},
		{"HTTP/1.1 200 OK" + goServerErrorHeaders + "fine", 0, "", false},
		{"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n{}", 0, "", false},
		{"data: {}\n\n", 0, "", false},
	} {
		status, text, ok := goServerError([]byte(tc.p))
		if status != tc.status || text != tc.text || ok != tc.ok {
			t.Errorf("%q: got %d %q %v", tc.p[:20], status, text, ok)
		}
	}
}

// nopConn reads a fixed request and discards writes.
type nopConn struct {
	net.Conn
	req []byte
}

func (c nopConn) Read(p []byte) (int, error)  { return copy(p, c.req), nil }
func (c nopConn) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkErrorConn is what errorConn adds to one request: a read of its
// head and a response written in two parts (headers, body).
func BenchmarkErrorConn(b *testing.B) {
	req := []byte("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-x\r\nContent-Type: application/json\r\nContent-Length: 120\r\n\r\n" + strings.Repeat("x", 120))
	buf := make([]byte, 4096)
	head := []byte("HTTP/1.1 200 OK\r\nContent-Length: 300\r\nContent-Type: application/json\r\nDate: Sun, 06 Dec 2026 04:00:00 GMT\r\n\r\n")
	body := []byte(strings.Repeat("y", 300))
	for _, wrap := range []bool{false, true} {
		name := "bare"
		if wrap {
			name = "errorConn"
		}
		b.Run(name, func(b *testing.B) {
			var c net.Conn = nopConn{req: req}
			if wrap {
				c = &errorConn{Conn: c, maxHeaderBytes: 65536}
			}
			b.ReportAllocs()
			for b.Loop() {
				c.Read(buf)
				c.Write(head)
				c.Write(body)
			}
		})
	}
}
