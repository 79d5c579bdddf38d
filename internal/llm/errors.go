package llm

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error kinds, OpenAI's error "type" vocabulary; each wire format maps them
// to its own (Anthropic: invalid_request_error, not_found_error, ...).
const (
	ErrInvalidRequest = "invalid_request_error"
	ErrAuthentication = "authentication_error"
	ErrPermission     = "permission_error"
	ErrNotFound       = "not_found_error"
	ErrRateLimit      = "rate_limit_error"
	ErrQuota          = "insufficient_quota"
	ErrUpstream       = "api_error"
	ErrOverloaded     = "overloaded_error"
	ErrTimeout        = "timeout_error"
	ErrPolicy         = "policy_error"
	ErrTooLarge       = "request_too_large"
)

// Error is an error with what the client may see kept apart from what is
// logged. Handlers return it; one place renders it in the client's format.
type Error struct {
	// Status is the HTTP status for the client.
	Status int
	// Type is one of the Err* kinds.
	Type string
	// Code is a machine-readable code, e.g. "model_not_found".
	Code string
	// Param names the request field at fault, when there is one.
	Param string
	// Message is safe to show to the client: never a secret, never a prompt.
	Message string
	// RetryAfter, when positive, is sent as the Retry-After header.
	RetryAfter time.Duration
	// RateLimit says, for an ErrRateLimit, which limit refused: "requests"
	// or "tokens" (OpenAI's error type; "" is taken as "requests").
	RateLimit string
	// Provider names the upstream that produced the error, if any.
	Provider string
	// Err is the cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.Type, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a 400 invalid_request_error naming param.
func Errorf(param, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: ErrInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}

// Unsupported returns the 400 for a parameter that a target cannot honour.
func Unsupported(provider, param string) *Error {
	return &Error{
		Status:   http.StatusBadRequest,
		Type:     ErrInvalidRequest,
		Code:     "unsupported_parameter",
		Param:    param,
		Provider: provider,
		Message:  fmt.Sprintf("parameter %q is not supported by provider %q", param, provider),
	}
}

// AsError returns err as an *Error, wrapping unknown errors as a 502 from
// the upstream (or 500 when provider is empty).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Type: ErrUpstream, Message: "internal error", Err: err}
}

// StatusType maps an upstream HTTP status to an error kind.
func StatusType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return ErrAuthentication
	case status == http.StatusForbidden:
		return ErrPermission
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case status == http.StatusTooManyRequests:
		return ErrRateLimit
	case status == 529 || status == http.StatusServiceUnavailable:
		return ErrOverloaded
	case status == http.StatusGatewayTimeout || status == http.StatusRequestTimeout:
		return ErrTimeout
	case status >= 400 && status < 500:
		return ErrInvalidRequest
	default:
		return ErrUpstream
	}
}
