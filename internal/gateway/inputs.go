package gateway

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/jsonscan"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Inputs bounds what a client may make the gateway hold or compute. Zero
// fields take the defaults noted (config.Server documents them for
// operators).
type Inputs struct {
	// MaxInFlight bounds the /v1 requests served at once; past it, 503
	// with Retry-After: 1. Default 4096.
	MaxInFlight int64
	// BodyTimeout and MinBodyRate cut slow bodies: after n bytes the body
	// must be complete by BodyTimeout + n/MinBodyRate from its first read.
	// Defaults 10s and 64 KiB/s.
	BodyTimeout time.Duration
	MinBodyRate int64
	// MaxMessages bounds the top-level messages/input/contents array.
	// Default 10000.
	MaxMessages int
	// MaxJSONDepth bounds nesting. Default 128.
	MaxJSONDepth int
	// MaxOutputTokens bounds max_tokens and its kin. Default 1<<24.
	MaxOutputTokens int64
	// MaxFulcrumHeaderBytes bounds the x-fulcrum-* headers together.
	// Default 8 KiB.
	MaxFulcrumHeaderBytes int
}

func (in *Inputs) applyDefaults() {
	if in.MaxInFlight <= 0 {
		in.MaxInFlight = 4096
	}
	if in.BodyTimeout <= 0 {
		in.BodyTimeout = 10 * time.Second
	}
	if in.MinBodyRate <= 0 {
		in.MinBodyRate = 64 << 10
	}
	if in.MaxMessages <= 0 {
		in.MaxMessages = 10000
	}
	if in.MaxJSONDepth <= 0 {
		in.MaxJSONDepth = 128
	}
	if in.MaxOutputTokens <= 0 {
		in.MaxOutputTokens = 1 << 24
	}
	if in.MaxFulcrumHeaderBytes <= 0 {
		in.MaxFulcrumHeaderBytes = 8 << 10
	}
}

// maxN is the largest n (choices) accepted, OpenAI's documented maximum.
const maxN = 128

var errOverloaded = &llm.Error{Status: http.StatusServiceUnavailable, Type: llm.ErrOverloaded, Code: "server_overloaded",
	Message: "the gateway is serving as many requests as it is configured to; retry shortly", RetryAfter: time.Second}

// checkHeaders bounds the x-fulcrum-* headers (431 in the client's format;
// Go's server itself answers 431 past server.max_header_bytes).
func (s *Server) checkHeaders(h http.Header) error {
	n := 0
	for k, vs := range h {
		if len(k) < 10 || !(k[:10] == "X-Fulcrum-") {
			continue
		}
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	if n > s.opts.Inputs.MaxFulcrumHeaderBytes {
		return &llm.Error{Status: http.StatusRequestHeaderFieldsTooLarge, Type: llm.ErrInvalidRequest, Code: "headers_too_large",
			Message: "x-fulcrum-* headers total " + strconv.Itoa(n) + " bytes, over the limit of " + strconv.Itoa(s.opts.Inputs.MaxFulcrumHeaderBytes)}
	}
	return nil
}

// deadlineBody cuts a slow body: before reading past each 64 KiB step it
// sets the connection's read deadline to start + timeout + n/rate, so a
// client trickling bytes is cut at the timeout and one sending at the
// minimum rate or faster never is. At EOF the deadline is cleared (the
// server's own background read must not inherit it).
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	rate    int64
	start   time.Time
	n, next int64
	cleared bool
}

const deadlineStep = 64 << 10

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.start.IsZero() {
		b.start = time.Now()
	}
	if b.n >= b.next && !b.cleared {
		d := b.timeout + time.Duration(b.n/b.rate)*time.Second + time.Duration(b.n%b.rate*int64(time.Second)/b.rate)
		// An error means the connection cannot take deadlines (a test
		// recorder): nothing to cut then.
		_ = b.rc.SetReadDeadline(b.start.Add(d))
		b.next = b.n + deadlineStep
	}
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err == io.EOF && !b.cleared {
		b.cleared = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// bodyError is the client's error for a failed body read.
func bodyError(err error) *llm.Error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &llm.Error{Status: http.StatusRequestTimeout, Type: llm.ErrTimeout, Code: "body_timeout",
			Message: "request body arrived too slowly", Err: err}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(mbe.Limit)
	}
	return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: "could not read request body", Err: err}
}

// intFields are the top-level integer fields checked before decoding, with
// their upper bounds (0: MaxOutputTokens).
var intFields = map[string]int64{"max_tokens": 0, "max_completion_tokens": 0, "max_output_tokens": 0, "n": maxN}

// scanBody checks a JSON body's shape before it is decoded, so that no
// decoder allocates for what the limits refuse: nesting depth, the length
// of the top-level messages/input/contents array, and the range of integer
// fields that feed worst-case cost arithmetic (max_tokens and its kin, n,
// thinking.budget_tokens). It reads the bytes once and allocates nothing;
// malformed JSON is left to the decoder to report.
func (s *Server) scanBody(b []byte) *llm.Error {
	lim := &s.opts.Inputs
	var (
		depth    int
		key      [3][]byte // the last key seen at depths 1 and 2
		lastStr  []byte
		counting bool // inside a top-level messages array (depth 2)
		elems    int
		colon    bool // a value follows
	)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			j := jsonscan.StringEnd(b, i+1)
			lastStr = b[i+1 : j]
			i = j
			if counting && depth == 2 && elems == 0 {
				elems = 1
			}
		case ':':
			if depth == 1 || depth == 2 {
				key[depth] = lastStr
			}
			colon = true
			continue
		case '{', '[':
			if counting && depth == 2 && elems == 0 {
				elems = 1
			}
			depth++
			if depth > lim.MaxJSONDepth {
				return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "json_too_deep",
					Message: "request body nests deeper than " + strconv.Itoa(lim.MaxJSONDepth) + " levels"}
			}
			if c == '[' && depth == 2 && colon {
				switch string(key[1]) {
				case "messages", "input", "contents":
					counting, elems = true, 0
				}
			}
		case '}', ']':
			if depth == 2 {
				counting = false
			}
			depth--
		case ',':
			if counting && depth == 2 {
				elems++
				if elems > lim.MaxMessages {
					return &llm.Error{Status: http.StatusRequestEntityTooLarge, Type: llm.ErrTooLarge, Code: "too_many_messages",
						Param: string(key[1]), Message: "more than " + strconv.Itoa(lim.MaxMessages) + " elements in " + strconv.Quote(string(key[1]))}
				}
			}
		default:
			if counting && depth == 2 && elems == 0 {
				elems = 1
			}
			if colon && c >= '0' && c <= '9' {
				if e := s.checkInt(b[i:], depth, &key); e != nil {
					return e
				}
			}
		}
		colon = false
	}
	return nil
}

// checkInt range-checks the number starting num when its key is one of the
// bounded integer fields. Only plain non-negative integers are checked: a
// fraction, an exponent or a sign is the decoder's to refuse.
func (s *Server) checkInt(num []byte, depth int, key *[3][]byte) *llm.Error {
	var name string
	var bound int64
	switch {
	case depth == 1:
		bd, ok := intFields[string(key[1])]
		if !ok {
			return nil
		}
		name, bound = string(key[1]), bd
	case depth == 2 && string(key[1]) == "thinking" && string(key[2]) == "budget_tokens":
		name = "thinking.budget_tokens"
	default:
		return nil
	}
	if bound == 0 {
		bound = s.opts.Inputs.MaxOutputTokens
	}
	end := 0
	for end < len(num) && num[end] >= '0' && num[end] <= '9' {
		end++
	}
	if end < len(num) && (num[end] == '.' || num[end] == 'e' || num[end] == 'E') {
		return nil
	}
	v, err := strconv.ParseInt(string(num[:end]), 10, 64)
	if err == nil && v <= bound {
		return nil
	}
	return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "integer_above_max_value", Param: name,
		Message: "Invalid '" + name + "': integer above maximum value. Expected a value <= " + strconv.FormatInt(bound, 10) +
			", but got " + string(num[:end]) + " instead."}
}
