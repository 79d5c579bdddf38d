package gateway

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// ServerError turns an error Go's HTTP server writes itself, before any
// handler runs, into a whole HTTP response in the client's own format:
// head is the start of the request as read from the connection (its
// request line tells an Anthropic client from an OpenAI one), status and
// text what Go would have said in plain text. maxHeaderBytes is
// server.max_header_bytes, named in a 431's message.
func ServerError(head []byte, status int, text string, maxHeaderBytes int) []byte {
	e := &llm.Error{Status: status, Type: llm.ErrInvalidRequest}
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		e.Code = "headers_too_large"
		e.Message = "the request's headers are larger than the limit of " + strconv.Itoa(maxHeaderBytes) + " bytes (server.max_header_bytes)"
	case http.StatusNotImplemented:
		e.Code = "unsupported_transfer_encoding"
		e.Message = "unsupported Transfer-Encoding: only chunked is accepted"
	default:
		e.Code = "malformed_request"
		e.Message = "malformed HTTP request"
		if text != "" {
			e.Message += ": " + text
		}
	}
	f := fmtOpenAI
	if clientIsAnthropic(head) {
		f = fmtAnthropic
	}
	body := f.encodeError(e)
	b := make([]byte, 0, 160+len(body))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

// clientIsAnthropic reads a request's first bytes as the handlers choose
// a format: Anthropic's for /v1/messages, and for a shared path when an
// anthropic-version header is among the bytes read.
func clientIsAnthropic(head []byte) bool {
	line, rest, _ := bytes.Cut(head, []byte("\n"))
	_, target, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return false
	}
	target, _, _ = bytes.Cut(target, []byte(" "))
	path, _, _ := bytes.Cut(target, []byte("?"))
	if string(path) == "/v1/messages" || bytes.HasPrefix(path, []byte("/v1/messages/")) {
		return true
	}
	rest = bytes.ToLower(rest)
	return bytes.HasPrefix(rest, []byte("anthropic-version:")) || bytes.Contains(rest, []byte("\nanthropic-version:"))
}
