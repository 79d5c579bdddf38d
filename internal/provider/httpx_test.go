package provider

import (
	"context"
	"errors"
	"net/http"
	"syscall"
	"testing"
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
