package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// deadlineWriter is a ResponseWriter whose connection takes deadlines, as
// net/http's own does (httptest.ResponseRecorder does not, and the
// ResponseController's "not supported" error allocates).
type deadlineWriter struct{ *httptest.ResponseRecorder }

func (deadlineWriter) SetReadDeadline(time.Time) error  { return nil }
func (deadlineWriter) SetWriteDeadline(time.Time) error { return nil }

// TestBodyDeadlineAllocatesWithTheRequest: the body's read deadline
// (deadlineBody) and the write-stall deadline are kept in the request's
// context and reach the connection through a ResponseController made on
// the stack when a deadline moves; a request with a body allocates no
// more for its deadline than one without. They were allocated on their
// own, each with a ResponseController: four allocations a request
// (BenchmarkChatPassThrough 294 -> 290 allocs/op).
func TestBodyDeadlineAllocatesWithTheRequest(t *testing.T) {
	s := New(Options{Logger: slog.New(slog.DiscardHandler), AccessLog: slog.New(slog.DiscardHandler)})
	ok := []byte("ok")
	buf := make([]byte, 64)
	h := s.wrap(fmtOpenAI, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		for {
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
		w.Write(ok)
		return nil
	})
	body := []byte(`{"model":"m","messages":[]}`)
	run := func(withBody bool) float64 {
		return testing.AllocsPerRun(200, func() {
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			if withBody {
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			}
			h(deadlineWriter{httptest.NewRecorder()}, r)
		})
	}
	without, with := run(false), run(true)
	// The body itself costs its reader and NopCloser here (2).
	if with-without > 2 {
		t.Errorf("a request with a body allocates %.0f more than one without; want at most 2 (its reader), none for its deadline", with-without)
	}
}

// nopHandler is an enabled slog.Handler that keeps nothing.
type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }

// TestAccessLogLineAllocatesOnce: the access log's attributes are
// gathered in one slice sized for all of them (they grew past their first
// five before: one or two allocations more on every request that named a
// model).
func TestAccessLogLineAllocatesOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts move under the race detector")
	}
	s := New(Options{Logger: slog.New(slog.DiscardHandler), AccessLog: slog.New(nopHandler{})})
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	rc := &reqCtx{id: "req_1", model: "m", provider: "p", stream: true, status: 200,
		usage: &llm.Usage{InputTokens: 3, OutputTokens: 4}, errCode: "x"}
	// One allocation: the attributes (slog.Record copies them into its
	// own storage). They were three: five, then ten, then twenty.
	if n := testing.AllocsPerRun(100, func() { s.finish(r, rc) }); n > 1 {
		t.Errorf("finish allocates %.0f times, want at most 1", n)
	}
}
