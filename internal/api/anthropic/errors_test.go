package anthropic

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func TestEncodeError(t *testing.T) {
	tests := []struct {
		name string
		err  *llm.Error
		want string
	}{
		{"invalid", llm.Errorf("max_tokens", "max_tokens: field required"),
			`{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: field required"}}`},
		{"auth", &llm.Error{Status: 401, Type: llm.ErrAuthentication, Message: "invalid x-api-key"},
			`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`},
		{"permission", &llm.Error{Status: 403, Type: llm.ErrPermission, Message: "no"},
			`{"type":"error","error":{"type":"permission_error","message":"no"}}`},
		{"not found", &llm.Error{Status: 404, Type: llm.ErrNotFound, Message: "model: nope"},
			`{"type":"error","error":{"type":"not_found_error","message":"model: nope"}}`},
		{"too large", &llm.Error{Status: 413, Type: llm.ErrTooLarge, Message: "big"},
			`{"type":"error","error":{"type":"request_too_large","message":"big"}}`},
		{"rate", &llm.Error{Status: 429, Type: llm.ErrRateLimit, Message: "slow down"},
			`{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`},
		{"quota", &llm.Error{Status: 429, Type: llm.ErrQuota, Message: "budget"},
			`{"type":"error","error":{"type":"rate_limit_error","message":"budget"}}`},
		{"overloaded", &llm.Error{Status: 503, Type: llm.ErrOverloaded, Message: "Overloaded"},
			`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`},
		{"timeout", &llm.Error{Status: 504, Type: llm.ErrTimeout, Message: "upstream timed out"},
			`{"type":"error","error":{"type":"api_error","message":"upstream timed out"}}`},
		{"policy blocked", &llm.Error{Status: 403, Type: llm.ErrPolicy, Message: "blocked"},
			`{"type":"error","error":{"type":"policy_error","message":"blocked"}}`},
		{"policy 503", &llm.Error{Status: 503, Type: llm.ErrPolicy, Message: "down"},
			`{"type":"error","error":{"type":"policy_error","message":"down"}}`},
		{"unknown kind by status", &llm.Error{Status: 429, Type: "weird", Message: "x"},
			`{"type":"error","error":{"type":"rate_limit_error","message":"x"}}`},
		{"escaping", &llm.Error{Status: 500, Type: llm.ErrUpstream, Message: "a \"b\"\n\x01"},
			`{"type":"error","error":{"type":"api_error","message":"a \"b\"\n\u0001"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(EncodeError(tt.err)); got != tt.want {
				t.Errorf("EncodeError = %s\nwant          %s", got, tt.want)
			}
		})
	}
	got := string(AppendStreamError([]byte("x"), &llm.Error{Status: 503, Type: llm.ErrOverloaded, Message: "Overloaded"}))
	want := "xevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	if got != want {
		t.Errorf("AppendStreamError = %q, want %q", got, want)
	}
}

func TestErrorMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"},"request_id":"req_1"}`: "Number of request tokens has exceeded your per-minute rate limit",
		`<html>bad gateway</html>`: "",
		``:                         "",
	} {
		if got := ErrorMessage([]byte(body)); got != want {
			t.Errorf("ErrorMessage(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestStreamErrorStatus(t *testing.T) {
	tests := []struct {
		typ    string
		status int
		kind   string
	}{
		{"overloaded_error", http.StatusServiceUnavailable, llm.ErrOverloaded},
		{"rate_limit_error", http.StatusTooManyRequests, llm.ErrRateLimit},
		{"api_error", http.StatusInternalServerError, llm.ErrUpstream},
		{"invalid_request_error", http.StatusBadRequest, llm.ErrInvalidRequest},
		{"authentication_error", http.StatusBadGateway, llm.ErrUpstream},
		{"something_new", http.StatusInternalServerError, llm.ErrUpstream},
	}
	for _, tt := range tests {
		d := NewStreamDecoder()
		_, _, err := d.Process("error", []byte(`{"type":"error","error":{"type":"`+tt.typ+`","message":"m"}}`))
		e, ok := err.(*llm.Error)
		if !ok {
			t.Fatalf("%s: err = %v, want *llm.Error", tt.typ, err)
		}
		if diff := cmp.Diff([2]any{tt.status, tt.kind}, [2]any{e.Status, e.Type}); diff != "" {
			t.Errorf("%s (-want +got): %s", tt.typ, diff)
		}
	}
}
