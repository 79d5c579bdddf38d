// Package mockup is the benchmark's upstream: an OpenAI-compatible
// POST /v1/chat/completions that answers from precomputed bytes, so that in
// the harness it costs as little CPU as possible and the gateway under test
// is what is measured.
//
// Non-streaming, it returns a fixed ~340-byte chat.completion with usage.
// With "stream":true it sends 20 chat.completion.chunk events (a role chunk,
// 18 content chunks, a finish chunk), then, when
// "stream_options":{"include_usage":true}, a usage chunk with empty choices,
// then "data: [DONE]" — the shape of OpenAI's streaming reference
// (https://platform.openai.com/docs/api-reference/chat-streaming). The
// request body is read but not decoded: "stream" and "include_usage" are
// found by a byte scan.
package mockup

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Options tune the mock. The zero value answers at once.
type Options struct {
	// Latency is slept before the response headers are sent. Default 0.
	Latency time.Duration
	// ChunkDelay is slept between stream events, so that streams last and
	// overlap. Default 0.
	ChunkDelay time.Duration
}

// Fixed parts of every answer.
const (
	ID        = "chatcmpl-bench1"
	Model     = "bench-model"
	Created   = 1700000000
	Chunks    = 20 // stream events before the usage chunk and [DONE]
	PromptTok = 12
	OutputTok = 18
)

// Words is the streamed answer, one content chunk per word; joined, it is
// also the non-streaming answer.
var Words = [Chunks - 2]string{
	"Hello!", " This", " is", " a", " fixed", " answer", " from", " the", " mock,",
	" sent", " in", " twenty", " small", " chunks", " for", " the", " bench", ".",
}

// Server is the mock's http.Handler.
type Server struct {
	opts Options

	completion []byte   // non-streaming body
	clen       []string // its Content-Length header value
	chunks     [2][][]byte
	usage      []byte // usage event, include_usage only
	bufs       sync.Pool
}

var (
	ctJSON  = []string{"application/json"}
	ctSSE   = []string{"text/event-stream"}
	noCache = []string{"no-cache"}
	done    = []byte("data: [DONE]\n\n")
)

// New precomputes every body the mock sends.
func New(opts Options) *Server {
	s := &Server{opts: opts, bufs: sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}}
	text := ""
	for _, w := range Words {
		text += w
	}
	s.completion = fmt.Appendf(nil, `{"id":%q,"object":"chat.completion","created":%d,"model":%q,`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":%q},"logprobs":null,"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`,
		ID, Created, Model, text, PromptTok, OutputTok, PromptTok+OutputTok)
	s.clen = []string{strconv.Itoa(len(s.completion))}
	for v, usageField := range []string{"", `,"usage":null`} {
		event := func(delta, finish string) []byte {
			return fmt.Appendf(nil, `data: {"id":%q,"object":"chat.completion.chunk","created":%d,"model":%q,`+
				`"choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]%s}`+"\n\n",
				ID, Created, Model, delta, finish, usageField)
		}
		evs := [][]byte{event(`{"role":"assistant","content":"","refusal":null}`, "null")}
		for _, w := range Words {
			evs = append(evs, event(fmt.Sprintf(`{"content":%q}`, w), "null"))
		}
		evs = append(evs, event(`{}`, `"stop"`))
		s.chunks[v] = evs
	}
	s.usage = fmt.Appendf(nil, `data: {"id":%q,"object":"chat.completion.chunk","created":%d,"model":%q,"choices":[],`+
		`"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n",
		ID, Created, Model, PromptTok, OutputTok, PromptTok+OutputTok)
	return s
}

// Completion returns the non-streaming body (for tests).
func (s *Server) Completion() []byte { return s.completion }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
		s.chat(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		w.Header()["Content-Type"] = ctJSON
		io.WriteString(w, `{"object":"list","data":[{"id":"`+Model+`","object":"model","created":1700000000,"owned_by":"bench"}]}`)
	default:
		w.Header()["Content-Type"] = ctJSON
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}}`)
	}
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	bp := s.bufs.Get().(*[]byte)
	body, err := readAll(r.Body, (*bp)[:0])
	stream, usage := JSONTrue(body, "stream"), JSONTrue(body, "include_usage")
	*bp = body[:0]
	s.bufs.Put(bp)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	h := w.Header()
	if !stream {
		h["Content-Type"] = ctJSON
		h["Content-Length"] = s.clen
		w.Write(s.completion)
		return
	}
	h["Content-Type"] = ctSSE
	h["Cache-Control"] = noCache
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	v := 0
	if usage {
		v = 1
	}
	for i, ev := range s.chunks[v] {
		if i > 0 && s.opts.ChunkDelay > 0 {
			time.Sleep(s.opts.ChunkDelay)
		}
		if _, err := w.Write(ev); err != nil {
			return
		}
		if f != nil {
			f.Flush()
		}
	}
	if usage {
		w.Write(s.usage)
	}
	w.Write(done)
	if f != nil {
		f.Flush()
	}
}

// readAll reads r into buf, growing it as needed.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// JSONTrue reports whether body holds the member "key": true (with any
// whitespace around the colon). It does not parse JSON: a quoted "key"
// followed by a colon can only be an object key, so the scan cannot be
// fooled by string values, but it does not tell nesting levels apart.
func JSONTrue(body []byte, key string) bool {
	pat := make([]byte, 0, 32)
	pat = append(pat, '"')
	pat = append(pat, key...)
	pat = append(pat, '"')
	for i := 0; ; {
		j := bytes.Index(body[i:], pat)
		if j < 0 {
			return false
		}
		k := skipSpace(body, i+j+len(pat))
		if k < len(body) && body[k] == ':' {
			k = skipSpace(body, k+1)
			if bytes.HasPrefix(body[k:], []byte("true")) {
				return true
			}
		}
		i += j + 1
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
