package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// heldObserver records whether each attempt was reported and holds each
// request's bookkeeping (Request, called after the answer is written)
// until release is closed.
type heldObserver struct {
	mu       sync.Mutex
	attempts int
	release  chan struct{}
}

func (o *heldObserver) Attempt(*gateway.Attempt) {
	o.mu.Lock()
	o.attempts++
	o.mu.Unlock()
}

func (o *heldObserver) Request(*gateway.RequestLog) { <-o.release }

func (o *heldObserver) reported() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.attempts
}

// TestAnswerLeavesBeforeBookkeeping: a non-streaming answer reaches the
// client whole, with its Content-Length, while the gateway's per-request
// bookkeeping (metrics, access log, observer) is still running, as a
// reverse proxy's would; it was held in net/http's buffer until the
// handler returned. Its attempt was reported (journaled) before.
func TestAnswerLeavesBeforeBookkeeping(t *testing.T) {
	obs := &heldObserver{release: make(chan struct{})}
	e := newEnvWith(t, func(o *gateway.Options) { o.Observer = obs })
	e.oa.Record(false)
	released := false
	release := func() {
		if !released {
			released = true
			close(obs.release)
		}
	}
	defer release()
	for _, c := range []struct{ name, path, body string }{
		{"pass-through", "/v1/chat/completions", `{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`},
		{"translated", "/v1/messages", `{"model":"m-openai","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := obs.reported()
			type answer struct {
				resp *http.Response
				body []byte
				err  error
			}
			got := make(chan answer, 1)
			// A client of its own: the previous subtest's connection is
			// still held by its handler, and a reused connection's next
			// request waits for the handler to return (as it would behind
			// a reverse proxy).
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			go func() {
				resp, err := client.Post(e.srv.URL+c.path, "application/json", strings.NewReader(c.body))
				if err != nil {
					got <- answer{err: err}
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				got <- answer{resp, b, err}
			}()
			select {
			case a := <-got:
				if a.err != nil {
					t.Fatal(a.err)
				}
				if a.resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", a.resp.StatusCode, a.body)
				}
				if cl := a.resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(a.body)) || len(a.resp.TransferEncoding) > 0 {
					t.Errorf("Content-Length %q, transfer encoding %q for a %d-byte answer", cl, a.resp.TransferEncoding, len(a.body))
				}
				if obs.reported() == before {
					t.Error("the client has its answer, and its attempt was not reported")
				}
			case <-time.After(5 * time.Second):
				release()
				a := <-got
				t.Fatalf("no answer while the request's bookkeeping runs (it waits for the handler to return); then %v %s", a.err, a.body)
			}
		})
	}
}

// heldLimiter admits every request; its admissions' Done says when it
// was entered and waits for release.
type heldLimiter struct {
	entered chan gateway.Spend
	release chan struct{}
}

func (l *heldLimiter) Admit(context.Context, *gateway.Caller, *llm.ChatRequest, string) (gateway.Admission, error) {
	return heldAdmission{l}, nil
}

type heldAdmission struct{ l *heldLimiter }

func (heldAdmission) SetHeaders(http.Header) {}
func (a heldAdmission) Done(s gateway.Spend) {
	a.l.entered <- s
	<-a.l.release
}

// TestBudgetSettledBeforeAnswer: the answer leaves before the request's
// bookkeeping, but not before its budget is settled, so a client sending
// its next request the moment the answer arrives is not refused by this
// one's worst-case reservation still held. A stream is settled before its
// terminal event, passed through or translated.
func TestBudgetSettledBeforeAnswer(t *testing.T) {
	for _, c := range []struct{ name, path, body, end string }{
		{"answer", "/v1/chat/completions", `{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`, ""},
		{"stream pass-through", "/v1/chat/completions", `{"model":"m-openai","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "data: [DONE]"},
		{"stream translated", "/v1/messages", `{"model":"m-openai","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "event: message_stop"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lim := &heldLimiter{entered: make(chan gateway.Spend, 1), release: make(chan struct{})}
			e := newEnvWith(t, func(o *gateway.Options) { o.Limiter = lim })
			got := make(chan error, 1)
			go func() {
				resp, err := http.Post(e.srv.URL+c.path, "application/json", strings.NewReader(c.body))
				if err != nil {
					got <- err
					return
				}
				defer resp.Body.Close()
				if c.end == "" {
					_, err = io.ReadAll(resp.Body)
					got <- err
					return
				}
				// A stream's end is its terminal event, not EOF (which
				// comes when the handler returns).
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					if sc.Text() == c.end {
						got <- nil
						return
					}
				}
				got <- fmt.Errorf("no %q in the stream (%v)", c.end, sc.Err())
			}()
			select {
			case s := <-lim.entered:
				if s.Tokens <= 0 {
					t.Errorf("settled %+v, want the attempt's tokens", s)
				}
			case err := <-got:
				close(lim.release)
				t.Fatalf("the client had its answer (err %v) before the budget was settled", err)
			case <-time.After(10 * time.Second):
				t.Fatal("the admission was never settled")
			}
			select {
			case err := <-got:
				close(lim.release)
				t.Fatalf("the client had its answer (err %v) before the budget was settled", err)
			case <-time.After(200 * time.Millisecond):
			}
			close(lim.release)
			if err := <-got; err != nil {
				t.Fatal(err)
			}
		})
	}
}
