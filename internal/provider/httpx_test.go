package provider

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		h        http.Header
		min, max time.Duration
	}{
		{http.Header{}, 0, 0},
		{http.Header{"Retry-After": {"3"}}, 3 * time.Second, 3 * time.Second},
		{http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond, 1500 * time.Millisecond},
		{http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"9"}}, 250 * time.Millisecond, 250 * time.Millisecond},
		{http.Header{"Retry-After": {future}}, 80 * time.Second, 91 * time.Second},
		{http.Header{"Retry-After": {"soon"}}, 0, 0},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.h); got < tt.min || got > tt.max {
			t.Errorf("RetryAfter(%v) = %v, want [%v, %v]", tt.h, got, tt.min, tt.max)
		}
	}
}

func TestStatusError(t *testing.T) {
	for _, tt := range []struct {
		status, wantStatus int
		wantCode           string
	}{
		{429, 429, ""},
		{529, 503, ""},
		{500, 500, ""},
		{401, 502, "upstream_auth_failed"}, // the gateway's key, not the client's
		{403, 502, "upstream_auth_failed"},
		{400, 400, ""},
	} {
		resp := &http.Response{StatusCode: tt.status, Header: http.Header{"Retry-After": {"2"}}}
		e := StatusError("p", resp, "boom")
		if e.Status != tt.wantStatus || e.Code != tt.wantCode || e.Provider != "p" || e.RetryAfter != 2*time.Second {
			t.Errorf("StatusError(%d) = %+v", tt.status, e)
		}
	}
}

// TestUpstreamFields: an OpenAI-format upstream's param and code reach the
// client on a 4xx, never over a code Fulcrum set itself, never on a 5xx,
// and never as one of Fulcrum's upstream_* codes the router classifies by.
func TestUpstreamFields(t *testing.T) {
	for _, tt := range []struct {
		status              int
		param, code         string
		wantParam, wantCode string
	}{
		{400, "temperature", "invalid_value", "temperature", "invalid_value"},
		{400, "messages", "context_length_exceeded", "messages", "context_length_exceeded"},
		{429, "", "rate_limit_exceeded", "", "rate_limit_exceeded"},
		{401, "", "invalid_api_key", "", "upstream_auth_failed"},
		{500, "", "server_error", "", ""},
		{400, "", "upstream_unreachable", "", ""},
	} {
		e := StatusError("p", &http.Response{StatusCode: tt.status, Header: http.Header{}}, "boom")
		UpstreamFields(e, tt.param, tt.code)
		if e.Param != tt.wantParam || e.Code != tt.wantCode {
			t.Errorf("%d %q %q: param %q code %q, want %q %q", tt.status, tt.param, tt.code, e.Param, e.Code, tt.wantParam, tt.wantCode)
		}
	}
}

func TestTransportError(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		ctx    context.Context
		err    error
		status int
	}{
		{cancelled, context.Canceled, 499},
		{context.Background(), context.DeadlineExceeded, 504},
		{context.Background(), syscall.ECONNREFUSED, 502},
		{context.Background(), errors.New("reset"), 502},
	} {
		if got := TransportError(tt.ctx, tt.err); got.Status != tt.status {
			t.Errorf("TransportError(%v) = %d, want %d", tt.err, got.Status, tt.status)
		}
	}
}

// TestReadBody: a body is read whole up to limit and refused one byte over,
// whether or not its size was announced (and whatever the announcement).
func TestReadBody(t *testing.T) {
	long := strings.Repeat("x", 3000)
	for _, tt := range []struct {
		body    string
		size    int64 // Content-Length; -1 unknown
		limit   int64
		wantErr bool
	}{
		{"", 0, 10, false},
		{"", -1, 10, false},
		{"hello", 5, 10, false},
		{"hello", -1, 5, false},
		{"hello!", -1, 5, true},
		{"hello!", 6, 5, true},
		{long, -1, 4096, false}, // grows past the first 512 bytes
		{long, 3000, 3000, false},
		{long, 3000, 2999, true},
		{long, 10, 4096, false}, // a wrong announcement still reads it all
	} {
		resp := &http.Response{Body: io.NopCloser(iotest.OneByteReader(strings.NewReader(tt.body))), ContentLength: tt.size}
		got, err := ReadResponse(resp, tt.limit)
		if (err != nil) != tt.wantErr || (err == nil && string(got) != tt.body) {
			t.Errorf("ReadResponse(%d bytes, size %d, limit %d) = %d bytes, %v", len(tt.body), tt.size, tt.limit, len(got), err)
		}
		got, err = ReadBody(strings.NewReader(tt.body), tt.limit)
		if (err != nil) != tt.wantErr || (err == nil && string(got) != tt.body) {
			t.Errorf("ReadBody(%d bytes, limit %d) = %d bytes, %v", len(tt.body), tt.limit, len(got), err)
		}
	}
}

// TestReadResponseAllocations: with a Content-Length the answer is one
// buffer (io.ReadAll under an io.LimitReader took three for 600 bytes).
func TestReadResponseAllocations(t *testing.T) {
	body := strings.Repeat("x", 600)
	r := strings.NewReader(body)
	resp := &http.Response{Body: io.NopCloser(r), ContentLength: int64(len(body))}
	if n := testing.AllocsPerRun(100, func() {
		r.Reset(body)
		if b, err := ReadResponse(resp, MaxResponseBytes); err != nil || len(b) != len(body) {
			t.Fatal(len(b), err)
		}
	}); n > 1 {
		t.Errorf("ReadResponse: %v allocations, want 1", n)
	}
}

// TestRedirectNotFollowed: an upstream's redirect comes back as a 502
// naming no address to the client; neither the body nor the key header
// goes to the address it names.
func TestRedirectNotFollowed(t *testing.T) {
	var followed atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed.Store(true) }))
	defer elsewhere.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/v1/chat/completions", http.StatusPermanentRedirect)
	}))
	defer up.Close()
	h := NewHTTP(Timeouts{})
	ctx, cancel := h.Deadline(context.Background(), false)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, up.URL+"/v1/chat/completions", strings.NewReader(`{}`))
	req.Header.Set("X-Api-Key", "secret")
	resp, err := h.Send(req, cancel)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || followed.Load() {
		t.Fatalf("status %d, followed %v", resp.StatusCode, followed.Load())
	}
	e := StatusError("p", resp, "")
	if e.Status != http.StatusBadGateway || e.Code != "upstream_redirect" || strings.Contains(e.Message, elsewhere.URL) || !strings.Contains(e.Err.Error(), elsewhere.URL) {
		t.Errorf("StatusError(308) = %+v", e)
	}
}

// TestDeadline: a non-streaming call is bounded by the total timeout, or
// by its caller's deadline when that comes first (then with no context
// of its own); a stream only by its caller.
func TestDeadline(t *testing.T) {
	h := NewHTTP(Timeouts{Total: time.Minute})
	bg := context.Background()
	ctx, cancel := h.Deadline(bg, false)
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > time.Minute || time.Until(dl) < 50*time.Second {
		t.Errorf("non-streaming deadline %v, %v", dl, ok)
	}
	cancel()
	if ctx.Err() == nil {
		t.Error("cancel did not end the call's context")
	}
	soon, stop := context.WithTimeout(bg, time.Second)
	defer stop()
	if ctx, cancel := h.Deadline(soon, false); ctx != soon {
		t.Error("a sooner caller deadline got a context of its own")
	} else {
		cancel()
	}
	late, stop2 := context.WithTimeout(bg, time.Hour)
	defer stop2()
	if ctx, cancel := h.Deadline(late, false); ctx == late {
		t.Error("a later caller deadline was not bounded by the total timeout")
	} else {
		cancel()
	}
	if ctx, _ := h.Deadline(bg, true); ctx != bg {
		t.Error("a stream got a total timeout")
	}
}
