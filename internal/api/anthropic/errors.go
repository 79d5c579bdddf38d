package anthropic

import (
	"encoding/json"
	"net/http"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Anthropic's error types (https://docs.anthropic.com/en/api/errors).
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typePermission     = "permission_error"
	typeNotFound       = "not_found_error"
	typeTooLarge       = "request_too_large"
	typeRateLimit      = "rate_limit_error"
	typeAPI            = "api_error"
	typeOverloaded     = "overloaded_error"
)

// errorType maps a canonical error to Anthropic's vocabulary.
func errorType(e *llm.Error) string {
	switch e.Type {
	case llm.ErrInvalidRequest:
		if e.Status == http.StatusNotFound {
			// OpenAI calls an unknown model an invalid request; Anthropic
			// calls it not_found_error.
			return typeNotFound
		}
		return typeInvalidRequest
	case llm.ErrAuthentication:
		return typeAuthentication
	case llm.ErrPermission:
		return typePermission
	case llm.ErrNotFound:
		return typeNotFound
	case llm.ErrRateLimit, llm.ErrQuota:
		return typeRateLimit
	case llm.ErrOverloaded:
		return typeOverloaded
	case llm.ErrTooLarge:
		return typeTooLarge
	case llm.ErrUpstream, llm.ErrTimeout:
		return typeAPI
	case llm.ErrPolicy:
		// Fulcrum's own type, as in the OpenAI format: SDKs classify
		// errors by HTTP status (403: permission denied, 503: retry), and
		// the client can still tell that data policy is why.
		return llm.ErrPolicy
	}
	// An unknown kind: go by status (StatusType returns only kinds
	// handled above, so this recursion ends).
	return errorType(&llm.Error{Type: llm.StatusType(e.Status), Status: e.Status})
}

// EncodeError renders e as Anthropic's error body:
// {"type":"error","error":{"type":"...","message":"..."}}.
func EncodeError(e *llm.Error) []byte {
	return appendErrorJSON(make([]byte, 0, 64+len(e.Message)), e)
}

func appendErrorJSON(b []byte, e *llm.Error) []byte {
	b = append(b, `{"type":"error","error":{"type":`...)
	b = appendString(b, errorType(e))
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	return append(b, `}}`...)
}

// AppendStreamError appends an in-stream error event, as Anthropic sends
// when a stream fails after its 200 status.
func AppendStreamError(b []byte, err *llm.Error) []byte {
	b = append(b, "event: error\ndata: "...)
	b = appendErrorJSON(b, err)
	return append(b, '\n', '\n')
}

// ErrorMessage extracts error.message from an Anthropic error body, or
// returns "" when the body is not one.
func ErrorMessage(body []byte) string {
	var w wireError
	if json.Unmarshal(body, &w) != nil {
		return ""
	}
	return w.Error.Message
}

// StatusForType is the HTTP status Fulcrum uses for an Anthropic error
// type. overloaded_error is 529 at Anthropic; Fulcrum's clients get 503,
// the status every HTTP client knows as retryable.
func StatusForType(t string) int {
	switch t {
	case typeInvalidRequest:
		return http.StatusBadRequest
	case typeAuthentication:
		return http.StatusUnauthorized
	case typePermission:
		return http.StatusForbidden
	case typeNotFound:
		return http.StatusNotFound
	case typeTooLarge:
		return http.StatusRequestEntityTooLarge
	case typeRateLimit:
		return http.StatusTooManyRequests
	case typeOverloaded:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorFromBody converts an error object received where a message or an
// event was expected.
func errorFromBody(body []byte) *llm.Error {
	var w wireError
	if err := json.Unmarshal(body, &w); err != nil {
		return malformed(err)
	}
	return upstreamError(w.Error.Type, w.Error.Message)
}

func upstreamError(typ, msg string) *llm.Error {
	status := StatusForType(typ)
	if msg == "" {
		msg = http.StatusText(status)
	}
	e := &llm.Error{
		Status:   status,
		Type:     llm.StatusType(status),
		Message:  "upstream anthropic: " + msg,
		Provider: providerName,
	}
	if typ == typeAPI || typ == "" {
		e.Type = llm.ErrUpstream
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		// The gateway's provider key failed, not the client's.
		e.Status, e.Type, e.Code = http.StatusBadGateway, llm.ErrUpstream, "upstream_auth_failed"
	}
	return e
}
