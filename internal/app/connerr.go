package app

import (
	"bytes"
	"net"
	"strconv"
	"sync"

	"github.com/fulcrumhq/fulcrum/internal/gateway"
)

// errorListener gives the errors Go's HTTP server writes itself, before
// any handler runs — 431 past server.max_header_bytes, 400 for a
// malformed request, 501 for a transfer encoding it does not know — the
// client's own error object instead of Go's plain text, so that an SDK
// reads them as it reads every other error of the gateway.
type errorListener struct {
	net.Listener
	maxHeaderBytes int
}

func (l errorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &errorConn{Conn: c, maxHeaderBytes: l.maxHeaderBytes}, nil
}

// errorConn keeps the first bytes read since the last write — the start
// of the request being read — and rewrites Go's plain-text error when the
// server writes one.
type errorConn struct {
	net.Conn
	maxHeaderBytes int
	// mu guards head and n: the server's background read of the next
	// request runs beside the handler's writes.
	mu   sync.Mutex
	head [512]byte
	n    int
}

func (c *errorConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if c.n < len(c.head) {
			c.n += copy(c.head[c.n:], p[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *errorConn) Write(p []byte) (int, error) {
	if status, text, ok := goServerError(p); ok {
		c.mu.Lock()
		resp := gateway.ServerError(c.head[:c.n], status, text, c.maxHeaderBytes)
		c.mu.Unlock()
		if _, err := c.Conn.Write(resp); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	c.mu.Lock()
	c.n = 0
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// CloseWrite lets the server half-close before it hangs up after a 431,
// as it does on a bare TCP connection.
func (c *errorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// goServerErrorHeaders follows the status line of every error net/http's
// server writes on its own (server.go, conn.serve). A handler's response
// never starts so: its headers are written sorted, Connection before
// Content-Type.
const goServerErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// goServerError recognises such an error and returns its status and the
// text after the status line's reason ("missing required Host header").
func goServerError(p []byte) (status int, text string, ok bool) {
	const proto = "HTTP/1.1 "
	if len(p) < len(proto)+4 || p[len(proto)] != '4' && p[len(proto)] != '5' || string(p[:len(proto)]) != proto {
		return 0, "", false
	}
	line, _, found := bytes.Cut(p, []byte("\r\n"))
	if !found || !bytes.HasPrefix(p[len(line):], []byte(goServerErrorHeaders)) {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(line[len(proto) : len(proto)+3]))
	if err != nil {
		return 0, "", false
	}
	if _, after, found := bytes.Cut(line, []byte(": ")); found {
		text = string(after)
	}
	return status, text, true
}
