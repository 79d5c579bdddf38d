// Package refproxy is the harness's reference "do-nothing proxy": a bare
// net/http/httputil.ReverseProxy that forwards every request to one upstream
// with no processing at all. Its throughput, latency and RSS are the limit
// that the targets compare Fulcrum with.
//
// The only settings are those without which the reference would be
// needlessly slow or wrong rather than bare:
//   - FlushInterval -1: flush every write, as for server-sent events.
//   - An idle-connection pool large enough for the harness's concurrency
//     (http.DefaultTransport keeps 2 idle connections per host, which would
//     close and reopen connections under 32 concurrent requests).
//   - Full duplex on every request. Without it, when a streamed response's
//     headers are flushed, the HTTP/1 server drains and closes the inbound
//     request body while the transport may still make its final read of it
//     (the check that the body is no longer than its Content-Length); that
//     read fails, the transport closes the upstream connection and the
//     stream is cut ("ReverseProxy read error during body copy: use of
//     closed network connection", https://github.com/golang/go/issues/40747).
//     In the harness that cut about 2% of streams at 500 requests/s.
package refproxy

import (
	"net/http"
	"net/http/httputil"
	"net/url"
)

// MaxIdleConns is the idle pool size, per host and in total.
const MaxIdleConns = 2048

// Proxy forwards every request to one upstream.
type Proxy struct {
	rp *httputil.ReverseProxy
	tr *http.Transport
}

// New returns a reverse proxy to target (scheme://host, optionally with a
// path prefix).
func New(target *url.URL) *Proxy {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = MaxIdleConns
	tr.MaxIdleConnsPerHost = MaxIdleConns
	return &Proxy{
		tr: tr,
		rp: &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = pr.In.Host
			},
			Transport:     tr,
			FlushInterval: -1,
		},
	}
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// See the package comment; the error only says the writer cannot do it
	// (HTTP/2), where the race does not exist.
	_ = http.NewResponseController(w).EnableFullDuplex()
	p.rp.ServeHTTP(w, r)
}

// CloseIdleConnections closes the idle upstream connections.
func (p *Proxy) CloseIdleConnections() { p.tr.CloseIdleConnections() }
