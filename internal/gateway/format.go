package gateway

import (
	"net/http"
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/api/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/jsonscan"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// wireFormat is one client-facing wire format: how its requests are
// decoded, its answers and errors encoded, and its pass-through watched.
type wireFormat struct {
	name string
	// path is the upstream path a pass-through request is forwarded to.
	path            string
	decode          func(body []byte) (*llm.ChatRequest, error)
	encode          func(c *chatCall, resp *llm.ChatResponse) ([]byte, error)
	newStream       func(c *chatCall, id, model string, created int64) streamEncoder
	encodeError     func(e *llm.Error) []byte
	streamError     func(b []byte, e *llm.Error) []byte
	setModel        func(body []byte, model string) ([]byte, error)
	responseUsage   func(body []byte) *llm.Usage
	errorMessage    func(body []byte) string
	newTap          func(clientWantsUsage bool) usageTap
	prepareForwared func(body []byte, stream bool) ([]byte, error)
}

type streamEncoder interface {
	Append(b []byte, c *llm.Chunk) []byte
	Done(b []byte) []byte
}

// failer is a stream encoder (or pass-through tap) that ends a cut stream
// itself, because its error event depends on what it has sent.
type failer interface {
	Fail(b []byte, e *llm.Error) []byte
}

// usageTap watches a passed-through stream for usage and decides which
// events reach the client.
type usageTap interface {
	// Event inspects one event and reports whether to forward it.
	Event(ev *sse.Event) bool
	Usage() *llm.Usage
	// Complete reports whether the terminal event was seen.
	Complete() bool
}

var fmtOpenAI = &wireFormat{
	name:   "openai",
	path:   "/chat/completions",
	decode: openai.DecodeChatRequest,
	encode: func(_ *chatCall, resp *llm.ChatResponse) ([]byte, error) { return openai.EncodeChatResponse(resp) },
	newStream: func(c *chatCall, id, model string, created int64) streamEncoder {
		return openai.NewStreamEncoder(id, model, created, c.req.IncludeUsage)
	},
	encodeError:   openai.EncodeError,
	streamError:   openai.AppendStreamError,
	setModel:      setModel,
	responseUsage: openai.ResponseUsage,
	errorMessage:  openai.ErrorMessage,
	newTap:        func(want bool) usageTap { return &openaiTap{want: want} },
	prepareForwared: func(body []byte, stream bool) ([]byte, error) {
		if !stream {
			return body, nil
		}
		// Fulcrum meters every stream: ask for usage even when the
		// client did not, and strip that chunk from what it sees.
		return openai.SetIncludeUsage(body)
	},
}

var fmtAnthropic = &wireFormat{
	name:   "anthropic",
	path:   "/messages",
	decode: anthropic.DecodeMessagesRequest,
	encode: func(c *chatCall, resp *llm.ChatResponse) ([]byte, error) {
		if omitThinking(c) {
			resp = anthropic.OmitThinking(resp)
		}
		return anthropic.EncodeMessagesResponse(resp)
	},
	newStream: func(c *chatCall, id, model string, created int64) streamEncoder {
		e := anthropic.NewStreamEncoder(id, model)
		if omitThinking(c) {
			e.OmitThinking()
		}
		return e
	},
	encodeError:     anthropic.EncodeError,
	streamError:     anthropic.AppendStreamError,
	setModel:        setModel,
	responseUsage:   anthropic.ResponseUsage,
	errorMessage:    anthropic.ErrorMessage,
	newTap:          func(bool) usageTap { return &anthropicTap{} },
	prepareForwared: func(body []byte, stream bool) ([]byte, error) { return body, nil },
}

// omitThinking reports whether an Anthropic client asked for thinking
// blocks without their text (thinking.display "omitted", what Claude Code
// sends).
func omitThinking(c *chatCall) bool {
	return c != nil && c.req != nil && c.req.Reasoning != nil && c.req.Reasoning.Display == "omitted"
}

// openaiTap reads usage from the final chunk and drops the usage-only chunk
// when the client did not ask for it.
type openaiTap struct {
	want  bool
	usage *llm.Usage
	done  bool
}

func (t *openaiTap) Event(ev *sse.Event) bool {
	if len(ev.Data) == 6 && string(ev.Data) == "[DONE]" {
		t.done = true
		return true
	}
	u, usageOnly := openai.ChunkUsage(ev.Data)
	if u != nil {
		t.usage = u
		if usageOnly && !t.want {
			return false
		}
	}
	return true
}

func (t *openaiTap) Usage() *llm.Usage { return t.usage }
func (t *openaiTap) Complete() bool    { return t.done }

type anthropicTap struct {
	tap  anthropic.UsageTap
	done bool
}

func (t *anthropicTap) Event(ev *sse.Event) bool {
	t.tap.Event(ev.Event, ev.Data)
	if ev.Event == "message_stop" {
		t.done = true
	}
	return true
}

func (t *anthropicTap) Usage() *llm.Usage { return t.tap.Usage() }
func (t *anthropicTap) Complete() bool    { return t.done }

// writeError renders e in the client's format.
func (s *Server) writeError(w http.ResponseWriter, f *wireFormat, e *llm.Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + 999_999_999) / 1_000_000_000)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	if e.Provider != "" {
		h.Set("X-Fulcrum-Provider", e.Provider)
	}
	status := e.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	w.Write(f.encodeError(e))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func quote(s string) string { return strconv.Quote(s) }

// setModel is the pass-through path's model rewrite for every format: one
// function, one rule (jsonscan.SetModel: a top-level model that is not a
// string is refused, a missing one is inserted).
func setModel(body []byte, model string) ([]byte, error) { return jsonscan.SetModel(body, model) }
