package gateway

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

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
	// MaxBodyMemory bounds the request-body bytes held at once, all /v1
	// requests together; past it, 503 with Retry-After: 1. Default 1 GiB.
	MaxBodyMemory int64
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
	// WriteStall cuts a client that stops reading: a write to it that
	// makes no progress for this long fails, and the request ends (a
	// stream's upstream call with it). Default 60s.
	WriteStall time.Duration
}

func (in *Inputs) applyDefaults() {
	if in.MaxInFlight <= 0 {
		in.MaxInFlight = 4096
	}
	if in.MaxBodyMemory <= 0 {
		in.MaxBodyMemory = 1 << 30
	}
	if in.BodyTimeout <= 0 {
		in.BodyTimeout = 10 * time.Second
	}
	if in.WriteStall <= 0 {
		in.WriteStall = 60 * time.Second
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

var errBodyMemory = &llm.Error{Status: http.StatusServiceUnavailable, Type: llm.ErrOverloaded, Code: "server_overloaded",
	Message: "the gateway holds as many request bodies as it is configured to (server.max_body_memory); retry shortly", RetryAfter: time.Second}

// holdBody takes n more bytes of the body memory for rc's request
// (released when it ends, in wrap), or reports that they would go past
// Inputs.MaxBodyMemory.
func (s *Server) holdBody(rc *reqCtx, n int64) bool {
	if s.bodyMem.Add(n) > s.opts.Inputs.MaxBodyMemory {
		s.bodyMem.Add(-n)
		return false
	}
	rc.bodyHeld += n
	return true
}

// checkHeaders bounds the x-fulcrum-* headers (431 in the client's format;
// past server.max_header_bytes Go's server answers 431 before any handler
// runs, and app's errorListener rewrites it into the client's format).
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
	w       http.ResponseWriter // whose connection's deadline is set
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
		_ = http.NewResponseController(b.w).SetReadDeadline(b.start.Add(d))
		b.next = b.n + deadlineStep
	}
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err == io.EOF && !b.cleared {
		b.cleared = true
		_ = http.NewResponseController(b.w).SetReadDeadline(time.Time{})
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

// decodeContent undoes the request's Content-Encoding, so that what policy
// scans, and what is forwarded, is the JSON the client meant (RFC 9110
// section 8.4: the codings are listed in the order they were applied).
// gzip (and x-gzip), deflate and zstd (what Codex CLI sends when it
// compresses) are decoded; deflate is the zlib format the RFC names, or raw
// deflate, which some clients send under that name. Any other coding (br,
// compress...) is refused with 415, and so
// are more than two codings: a body the gateway cannot read is never
// forwarded. The decoded body is bounded by limit (413), so a small bomb
// cannot make the gateway hold more than an uncompressed body could. The
// header is removed once the body is decoded.
func decodeContent(h http.Header, b []byte, limit int64) ([]byte, error) {
	vals := h.Values("Content-Encoding")
	if len(vals) == 0 {
		return b, nil
	}
	var codings []string
	for _, v := range vals {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
				codings = append(codings, c)
			}
		}
	}
	if len(codings) > 2 {
		return nil, unsupportedEncoding(strings.Join(codings, ", "))
	}
	for _, c := range codings {
		if c != "gzip" && c != "x-gzip" && c != "deflate" && c != "zstd" {
			return nil, unsupportedEncoding(c)
		}
	}
	for i := len(codings) - 1; i >= 0; i-- {
		var err error
		if b, err = inflate(codings[i], b, limit); err != nil {
			return nil, err
		}
	}
	h.Del("Content-Encoding")
	return b, nil
}

// inflate decodes one coding of b, refusing more than limit bytes of
// output.
func inflate(coding string, b []byte, limit int64) ([]byte, error) {
	var r io.Reader
	var err error
	switch coding {
	case "deflate":
		if r, err = zlib.NewReader(bytes.NewReader(b)); err != nil {
			r, err = flate.NewReader(bytes.NewReader(b)), nil
		}
	case "zstd":
		// Codex CLI's own coding for Responses bodies. The decoder's
		// window is bounded too: a frame may not make it allocate more
		// than the body limit allows.
		var d *zstd.Decoder
		if d, err = zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(uint64(max(limit, 1<<20))), zstd.WithDecoderMaxMemory(uint64(limit)+1)); err == nil {
			defer d.Close()
			r = d
		}
	default:
		r, err = gzip.NewReader(bytes.NewReader(b))
	}
	var out []byte
	if err == nil {
		out, err = io.ReadAll(io.LimitReader(r, limit+1))
	}
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return nil, tooLarge(limit)
	}
	if err != nil {
		return nil, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "invalid_content_encoding",
			Message: "the request body could not be decoded as " + coding + " (its Content-Encoding): " + err.Error(), Err: err}
	}
	if int64(len(out)) > limit {
		return nil, tooLarge(limit)
	}
	return out, nil
}

func unsupportedEncoding(c string) *llm.Error {
	return &llm.Error{Status: http.StatusUnsupportedMediaType, Type: llm.ErrInvalidRequest, Code: "unsupported_content_encoding",
		Message: "Content-Encoding " + strconv.Quote(c) + " is not supported: send the body uncompressed, or compressed with gzip, deflate or zstd"}
}

// intFields are the top-level integer fields checked before decoding, with
// their upper bounds (0: MaxOutputTokens).
var intFields = map[string]int64{"max_tokens": 0, "max_completion_tokens": 0, "max_output_tokens": 0, "n": maxN}

// scanBody checks a JSON body's shape before it is decoded, so that no
// decoder allocates for what the limits refuse: nesting depth, the length
// of every array (the top-level messages/input/contents array, and any
// other array, a message's content parts or a tools list: each element
// costs the policy scan and the decoders work, and 300,000 content parts
// in one message cost seconds of CPU), and the range of integer fields
// that feed worst-case cost arithmetic (max_tokens and its kin, n,
// thinking.budget_tokens). Arrays of numbers only (token ids of an
// embeddings or completions prompt) are not counted: a long prompt given
// as token ids is one. It reads the bytes once and allocates nothing;
// malformed JSON is left to the decoder to report.
func (s *Server) scanBody(b []byte) *llm.Error {
	lim := &s.opts.Inputs
	var (
		depth   int
		key     [3][]byte // the last key seen at depths 1 and 2
		lastStr []byte
		lastKey []byte // the key the value being read belongs to
		colon   bool   // a value follows
		// The arrays open, innermost last: the first 16 on the stack.
		small  [16]openArray
		arrays = small[:0]
	)
	element := func(number bool) *llm.Error {
		if len(arrays) == 0 || arrays[len(arrays)-1].depth != depth {
			return nil
		}
		a := &arrays[len(arrays)-1]
		a.elems++
		a.nonNum = a.nonNum || !number
		if a.elems <= lim.MaxMessages || !a.nonNum {
			return nil
		}
		if depth == 2 {
			switch string(key[1]) {
			case "messages", "input", "contents":
				return &llm.Error{Status: http.StatusRequestEntityTooLarge, Type: llm.ErrTooLarge, Code: "too_many_messages",
					Param: string(key[1]), Message: "more than " + strconv.Itoa(lim.MaxMessages) + " elements in " + strconv.Quote(string(key[1]))}
			}
		}
		return &llm.Error{Status: http.StatusRequestEntityTooLarge, Type: llm.ErrTooLarge, Code: "too_many_elements",
			Param: string(a.key), Message: "more than " + strconv.Itoa(lim.MaxMessages) + " elements in the array " + strconv.Quote(string(a.key)) +
				" (server.max_messages bounds every array of a request body but arrays of numbers)"}
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case ' ', '\t', '\n', '\r', ',':
			continue
		case '"':
			j := jsonscan.StringEnd(b, i+1)
			lastStr = b[i+1 : j]
			i = j
			if !colon {
				// An array element or an object key (an object's depth
				// is never an open array's, so a key is not counted).
				if e := element(false); e != nil {
					return e
				}
			}
		case ':':
			if depth == 1 || depth == 2 {
				key[depth] = lastStr
			}
			lastKey = lastStr
			colon = true
			continue
		case '{', '[':
			if !colon {
				if e := element(false); e != nil {
					return e
				}
			}
			depth++
			if depth > lim.MaxJSONDepth {
				return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "json_too_deep",
					Message: "request body nests deeper than " + strconv.Itoa(lim.MaxJSONDepth) + " levels"}
			}
			if c == '[' {
				k := lastKey
				if !colon {
					k = nil // an array in an array
				}
				arrays = append(arrays, openArray{depth: depth, key: k})
			}
		case '}', ']':
			if c == ']' && len(arrays) > 0 && arrays[len(arrays)-1].depth == depth {
				arrays = arrays[:len(arrays)-1]
			}
			depth--
		default:
			if !colon {
				if e := element(c == '-' || c >= '0' && c <= '9'); e != nil {
					return e
				}
			} else if c >= '0' && c <= '9' {
				if e := s.checkInt(b[i:], depth, &key); e != nil {
					return e
				}
			}
			// The rest of a number or literal is not another element.
			for i+1 < len(b) && !isJSONDelim(b[i+1]) {
				i++
			}
		}
		colon = false
	}
	return nil
}

// openArray is an array scanBody is inside: its depth, the key it is the
// value of, how many elements it has, and whether one is not a number.
type openArray struct {
	depth  int
	key    []byte
	elems  int
	nonNum bool
}

// isJSONDelim reports whether c ends a number or literal.
func isJSONDelim(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\n', '\r', ':', '"', '[', '{':
		return true
	}
	return false
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

// stallWriter arms a write deadline before each write, so that a client
// that stops reading is cut after WriteStall instead of holding its
// request, its in-flight slot and its upstream call (a stream goes on
// generating, and billing, into full socket buffers) for as long as it
// keeps the connection open. The deadline is moved only when a quarter
// of WriteStall has passed since it was last set: a write never starts
// with less than three quarters of it ahead, and a stream's many small
// writes do not each pay for a timer update.
//
// It also closes the connection after an answer written before the
// request's body was read to its end (body, when the request has one):
// Go's server would otherwise read what is left of that body, with no
// deadline, before it sends the answer (up to 256 KiB; net/http's
// "maxPostHandlerReadBytes"), so a client that declared a body and sent
// none of it held the connection forever and never got its 401, 413 or
// 503 (TestRefusedBeforeBodyAnswered).
type stallWriter struct {
	http.ResponseWriter
	stall time.Duration
	armed time.Time
	body  *deadlineBody
}

// unreadGrace is how long Go's server may go on reading a body left
// unread by an early answer (closeUnread).
const unreadGrace = time.Second

// closeUnread marks the answer "Connection: close" when the request's
// body has not been read to its end, and bounds any further read of it:
// after the answer Go's server still drains a small unread body (up to
// 256 KiB) before it closes, and that read had no deadline either. A
// client still sending gets unreadGrace to finish, so that the close
// does not reset a connection whose answer it has not read yet. It runs
// before the answer's header is written; afterwards it changes nothing.
func (w *stallWriter) closeUnread() {
	if w.body != nil {
		if !w.body.cleared {
			w.Header().Set("Connection", "close")
			_ = http.NewResponseController(w.ResponseWriter).SetReadDeadline(time.Now().Add(unreadGrace))
		}
		w.body = nil
	}
}

func (w *stallWriter) arm() {
	if now := time.Now(); now.Sub(w.armed) > w.stall/4 {
		w.armed = now
		_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(now.Add(w.stall))
	}
}

func (w *stallWriter) WriteHeader(code int) {
	w.closeUnread()
	w.arm()
	w.ResponseWriter.WriteHeader(code)
}

func (w *stallWriter) Write(b []byte) (int, error) {
	w.closeUnread()
	w.arm()
	return w.ResponseWriter.Write(b)
}

// Flush writes what is buffered: it can block on the client as a write
// does.
func (w *stallWriter) Flush() {
	w.closeUnread()
	w.arm()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *stallWriter) FlushError() error {
	w.closeUnread()
	w.arm()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's own
// deadlines.
func (w *stallWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// guardBody puts a request's body under the body deadline and its answer
// under the write stall and closeUnread, in sw and db (the caller's
// storage: a /v1 request keeps them in its reqCtx). It returns the writer
// to answer with.
func (s *Server) guardBody(sw *stallWriter, db *deadlineBody, w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	*sw = stallWriter{ResponseWriter: w, stall: s.opts.Inputs.WriteStall}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		*db = deadlineBody{ReadCloser: r.Body, w: w, timeout: s.opts.Inputs.BodyTimeout, rate: s.opts.Inputs.MinBodyRate}
		r.Body = db
		sw.body = db
	}
	return sw
}

// guarded serves h with guardBody: the handlers wrap does not serve (the
// admin API, health, metrics, the dashboard, unknown paths).
func (s *Server) guarded(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := &struct {
			sw stallWriter
			db deadlineBody
		}{}
		w = s.guardBody(&g.sw, &g.db, w, r)
		g.sw.arm()
		h.ServeHTTP(w, r)
	})
}
