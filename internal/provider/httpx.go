package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/telemetry"
)

// Timeouts bound an upstream call. Zero fields take the defaults noted.
type Timeouts struct {
	// Connect bounds TCP and TLS set-up. Default 10s.
	Connect time.Duration
	// FirstByte bounds the wait for response headers (and so, for streams,
	// roughly the time to first token). Default 60s.
	FirstByte time.Duration
	// Total bounds a whole non-streaming call. Default 10m. Streams are
	// bounded only by FirstByte and the client's context.
	Total time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Connect <= 0 {
		t.Connect = 10 * time.Second
	}
	if t.FirstByte <= 0 {
		t.FirstByte = 60 * time.Second
	}
	if t.Total <= 0 {
		t.Total = 10 * time.Minute
	}
	return t
}

// HTTP is the shared client side of every HTTP adapter: a tuned transport,
// timeouts, and error mapping.
type HTTP struct {
	// Client holds the transport. Only its Transport is used: requests go
	// straight to it, as httputil.ReverseProxy sends them, so an upstream's
	// redirect is not followed (StatusError makes it a 502 that names the
	// address to configure instead). Following one would re-send the body
	// and the provider key headers (x-api-key, api-key: http.Client drops
	// only Authorization on a change of host) to wherever it points, and
	// http.Client's redirect bookkeeping cost 6 allocations a call.
	Client   *http.Client
	Timeouts Timeouts
}

// connBufferSize is the read and the write buffer of each upstream HTTP/1
// connection; net/http's default is 4 KB each. A connection keeps both for
// life, so with 1,000 concurrent streams the defaults were 8 MB of heap, 16
// once the garbage collector's headroom is counted. 1 KB adds no system call
// in the common cases: a request's headers fit, and a longer body fills the
// buffer once and then goes to the socket directly (bufio.Writer's
// ReadFrom), as bodies over 4 KB already did; a stream's events arrive a few
// hundred bytes at a time; reads of 1 KB or more (a non-streaming body read
// whole) bypass the buffer. Status and header lines over 1 KB are still read
// (textproto joins them); a chunk-size line is a few bytes (one carrying
// over 1 KB of chunk extensions now fails, as one over 4 KB did before).
const connBufferSize = 1 << 10

// NewHTTP returns a client whose keep-alive pool is sized for a gateway
// (many concurrent calls to few hosts) and which speaks HTTP/2 where the
// upstream offers it over TLS.
func NewHTTP(t Timeouts) *HTTP {
	t = t.withDefaults()
	d := &net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   t.Connect,
		ResponseHeaderTimeout: t.FirstByte,
		ExpectContinueTimeout: time.Second,
		// Compressed bodies would have to be inflated to meter them; ask
		// for identity so bytes can be passed straight through.
		DisableCompression: true,
		// Each upstream connection keeps both buffers for life, one pair per
		// concurrent stream (see connBufferSize).
		WriteBufferSize: connBufferSize,
		ReadBufferSize:  connBufferSize,
	}
	return &HTTP{Client: &http.Client{Transport: tr}, Timeouts: t}
}

// NewHTTPFor is NewHTTP with a provider's configured timeouts.
func NewHTTPFor(t config.Timeouts) *HTTP {
	return NewHTTP(Timeouts{Connect: t.Connect.D(), FirstByte: t.FirstByte.D(), Total: t.Total.D()})
}

// Do sends req. For non-streaming calls it applies the total timeout; the
// returned cancel must be called once the body has been read. Do copies
// req to give it the timeout's context; an adapter on the hot path builds
// its request with Deadline's context and calls Send instead.
func (h *HTTP) Do(ctx context.Context, req *http.Request, stream bool) (*http.Response, context.CancelFunc, error) {
	ctx, cancel := h.Deadline(ctx, stream)
	resp, err := h.Send(req.WithContext(ctx), cancel)
	if err != nil {
		return nil, nil, err
	}
	return resp, cancel, nil
}

// Deadline returns ctx bounded by the total timeout for a non-streaming
// call (a stream's ctx, or one whose own deadline comes first, is returned
// as is) and the cancel to call once the body has been read.
func (h *HTTP) Deadline(ctx context.Context, stream bool) (context.Context, context.CancelFunc) {
	if stream {
		return ctx, func() {}
	}
	// A caller's deadline that comes first (a route's attempt or total
	// timeout) already bounds the call: a context of our own would cost
	// 7 allocations (timer, context, the parent's child map, channels)
	// and never fire.
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= h.Timeouts.Total {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, h.Timeouts.Total)
}

// Send sends req, whose context came from Deadline, to the transport. On
// error it calls cancel and returns an *llm.Error (TransportError).
func (h *HTTP) Send(req *http.Request, cancel context.CancelFunc) (*http.Response, error) {
	ctx := req.Context()
	injectTrace(ctx, req.Header)
	rt := h.Client.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		// Classify before cancel: after it, ctx.Err() is always Canceled
		// and every timeout would be reported as a client disconnect (499).
		te := TransportError(ctx, err)
		cancel()
		return nil, te
	}
	return resp, nil
}

// injectTrace writes the W3C traceparent (and tracestate) of the span ctx
// carries, the gateway's span for this upstream attempt, so the upstream's
// own traces join the request's trace. With tracing off ctx carries no
// span and nothing is written (one context lookup). A client's own
// traceparent is never forwarded as is: the upstream's parent is the
// gateway's attempt span.
func injectTrace(ctx context.Context, h http.Header) { telemetry.Inject(ctx, h) }

// TransportError maps a failed round trip to an *llm.Error: 504 for
// timeouts, 499 when the client went away, 502 otherwise.
func TransportError(ctx context.Context, err error) *llm.Error {
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return &llm.Error{Status: 499, Type: llm.ErrInvalidRequest, Code: "client_closed_request", Message: "client closed request", Err: err}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return &llm.Error{Status: http.StatusGatewayTimeout, Type: llm.ErrTimeout, Code: "upstream_timeout", Message: "upstream timed out", Err: err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "upstream_unreachable", Message: "upstream refused the connection", Err: err}
	default:
		return &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "upstream_error", Message: "upstream connection failed", Err: err}
	}
}

// StatusError builds the *llm.Error for an upstream non-2xx answer. message
// is what the upstream said (already extracted from its error object); the
// status is kept, Retry-After is passed on.
func StatusError(provider string, resp *http.Response, message string) *llm.Error {
	if message == "" {
		message = http.StatusText(resp.StatusCode)
	}
	status := resp.StatusCode
	if status == 529 { // Anthropic "overloaded"
		status = http.StatusServiceUnavailable
	}
	e := &llm.Error{
		Status:   status,
		Type:     llm.StatusType(resp.StatusCode),
		Message:  fmt.Sprintf("upstream %s: %s", provider, message),
		Provider: provider,
		Err:      fmt.Errorf("upstream status %d", resp.StatusCode),
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		// The client's key was fine; the gateway's provider key was not.
		// Don't tell the client its own credentials failed.
		e.Status = http.StatusBadGateway
		e.Type = llm.ErrUpstream
		e.Code = "upstream_auth_failed"
	}
	if status/100 == 3 {
		// Redirects are not followed (see HTTP.Client); the answer is the
		// upstream's, not the client's, to act on.
		e.Status = http.StatusBadGateway
		e.Type = llm.ErrUpstream
		e.Code = "upstream_redirect"
		// The Location goes to the log, not to the client.
		e.Message = fmt.Sprintf("upstream %s answered with a redirect", provider)
		e.Err = fmt.Errorf("upstream status %d to %q: set the provider's base_url to the final address", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.RetryAfter = RetryAfter(resp.Header)
	return e
}

// UpstreamFields gives e, built by StatusError, the param and code an
// OpenAI-format upstream named (openai.ErrorFields), so that a client sees
// "context_length_exceeded" or "invalid_value" on "temperature" as the API
// reports them. Not when Fulcrum set its own code (a refused provider key),
// not on a 5xx, and never a code of Fulcrum's own upstream_* family, which
// the router reads to classify failures.
func UpstreamFields(e *llm.Error, param, code string) {
	if e.Code != "" || e.Status >= 500 || strings.HasPrefix(code, "upstream_") {
		return
	}
	e.Param, e.Code = param, code
}

// RetryAfter parses a Retry-After header (seconds or HTTP date) and the
// OpenAI-style retry-after-ms header. It returns 0 when absent.
func RetryAfter(h http.Header) time.Duration {
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// ReadBody reads at most limit bytes of an upstream body.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	return readAtMost(r, -1, limit)
}

// ReadResponse reads at most limit bytes of resp's body. When the upstream
// sent a Content-Length within limit, the buffer is allocated at that size
// once: io.ReadAll starts at 512 bytes and grows by copying.
func ReadResponse(resp *http.Response, limit int64) ([]byte, error) {
	return readAtMost(resp.Body, resp.ContentLength, limit)
}

// readAtMost reads r to EOF into a buffer of size (plus one byte, to see
// EOF without growing), or of 512 bytes grown as needed when size is
// unknown (-1) or over limit. It fails once more than limit bytes came.
func readAtMost(r io.Reader, size, limit int64) ([]byte, error) {
	n := int64(512)
	if size >= 0 && size <= limit {
		n = size + 1
	}
	b := make([]byte, 0, min(n, limit+1))
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		// Never read past limit+1: one byte over is enough to fail.
		room := min(int64(cap(b)), limit+1)
		m, err := r.Read(b[len(b):room])
		b = b[:len(b)+m]
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("upstream body over %d bytes", limit)
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// MaxResponseBytes bounds a non-streaming upstream body (64 MiB).
const MaxResponseBytes = 64 << 20

// StreamCut is the error for a stream that ended without its terminal event.
func StreamCut(provider string, err error) *llm.Error {
	return &llm.Error{
		Status:   http.StatusBadGateway,
		Type:     llm.ErrUpstream,
		Code:     "stream_interrupted",
		Message:  fmt.Sprintf("upstream %s ended the stream before it was complete", provider),
		Provider: provider,
		Err:      err,
	}
}
