package gateway_test

import (
	"sync"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/gateway"
)

// attempts is an Observer that keeps the attempts it is handed.
type attempts struct {
	mu   sync.Mutex
	list []gateway.Attempt
}

func (a *attempts) Attempt(at *gateway.Attempt) {
	a.mu.Lock()
	a.list = append(a.list, *at)
	a.mu.Unlock()
}
func (a *attempts) Request(*gateway.RequestLog) {}
func (a *attempts) all() []gateway.Attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]gateway.Attempt(nil), a.list...)
}

// TestCutStreamsEstimated: a stream the upstream cuts after content, or
// ends with an error event, used to be recorded with no usage (0 tokens,
// cost 0) although the client received text. It is now recorded with an
// estimate from what was delivered, marked estimated, on the pass-through
// path (same format) and the translated one.
func TestCutStreamsEstimated(t *testing.T) {
	obs := &attempts{}
	e := newEnvWith(t, func(o *gateway.Options) { o.Observer = obs })
	for _, c := range []struct{ name, path, model, scenario string }{
		{"openai pass-through cut", "/v1/chat/completions", "m-openai", "[[cut]]"},
		{"openai pass-through error event", "/v1/chat/completions", "m-openai", "[[midstream-error]]"},
		{"openai to anthropic cut", "/v1/chat/completions", "m-anthropic", "[[cut]]"},
		{"anthropic pass-through cut", "/v1/messages", "m-anthropic", "[[cut]]"},
		{"anthropic pass-through error event", "/v1/messages", "m-anthropic", "[[midstream-error]]"},
		{"anthropic to openai error event", "/v1/messages", "m-openai", "[[midstream-error]]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := len(obs.all())
			body := `{"model":"` + c.model + `","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"` + c.scenario + ` tell me a story"}]}`
			resp, out := e.post(t, c.path, body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, out)
			}
			got := obs.all()[n:]
			if len(got) != 1 {
				t.Fatalf("%d attempts recorded, want 1", len(got))
			}
			a := got[0]
			if a.Status < 400 {
				t.Errorf("attempt status %d, want the failure", a.Status)
			}
			if a.Usage == nil || !a.Usage.Estimated || a.Usage.OutputTokens <= 0 || a.Usage.InputTokens <= 0 {
				t.Errorf("usage %+v, want an estimate of what was delivered", a.Usage)
			}
		})
	}
}
