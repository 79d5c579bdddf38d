package eval

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// hostedProvider records the prompts it receives and answers with a fixed
// text; its hosting is what policy sees.
type hostedProvider struct {
	info   provider.Info
	answer string
	mu     sync.Mutex
	seen   []string
}

func (p *hostedProvider) Info() *provider.Info { return &p.info }
func (p *hostedProvider) Chat(_ context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := pm.Check(p.Info()); err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, m := range req.Messages {
		b.WriteString(m.Text())
		b.WriteByte('\n')
	}
	p.mu.Lock()
	p.seen = append(p.seen, b.String())
	p.mu.Unlock()
	return textResp(p.answer, 10, 5), nil
}
func (p *hostedProvider) ChatStream(context.Context, policy.Permit, *llm.ChatRequest) (provider.Stream, error) {
	return nil, errors.New("no streams")
}
func (p *hostedProvider) Embed(context.Context, policy.Permit, *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	return nil, errors.New("no embeddings")
}
func (p *hostedProvider) Forward(context.Context, policy.Permit, *provider.RawRequest) (*http.Response, error) {
	return nil, errors.New("no pass-through")
}

// TestJudgeClearance: under the default policy (self_hosted_only for
// every detected class), an eval item carrying an e-mail address, in its
// question or only in its system prompt, is never sent to a proprietary
// judge; the judge assertion fails with the policy's reason. A clean item
// is judged there, and a self-hosted judge judges every item.
func TestJudgeClearance(t *testing.T) {
	box := &hostedProvider{info: provider.Info{Name: "box", Hosting: provider.SelfHosted}, answer: "Paris"}
	cloud := &hostedProvider{info: provider.Info{Name: "cloud", Hosting: provider.Proprietary}, answer: `{"score": 5, "reason": "ok"}`}
	judgeBox := &hostedProvider{info: provider.Info{Name: "judge-box", Hosting: provider.SelfHosted}, answer: `{"score": 5, "reason": "ok"}`}
	cfg := &config.Config{
		Providers: []config.Provider{{Name: "box", Type: "ollama"}, {Name: "cloud", Type: "openai"}, {Name: "judge-box", Type: "ollama"}},
		Models: []config.Model{
			{Name: "m", Provider: "box", Upstream: "llama"},
			{Name: "judge-cloud", Provider: "cloud", Upstream: "gpt-4o"},
			{Name: "judge-local", Provider: "judge-box", Upstream: "llama"},
		},
	}
	providers := map[string]provider.Provider{"box": box, "cloud": cloud, "judge-box": judgeBox}
	run := func(judge string) *Report {
		t.Helper()
		s, err := ParseSuite([]byte(`
models: [m]
judge: {model: `+judge+`, rubric: "Names Paris."}
cases:
  - {id: clean, prompt: "What is the capital of France?", assert: [{type: judge}]}
  - {id: question, prompt: "Mail the capital of France to ann.leak@example.com", assert: [{type: judge}]}
  - id: system
    messages:
      - {role: system, content: "The user is ann.leak@example.com."}
      - {role: user, content: "What is the capital of France?"}
    assert: [{type: judge}]
`), ".")
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewProviderClient(cfg, providers)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Run(context.Background(), s, Options{Client: c})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	outcome := func(rep *Report, id string) AssertionResult {
		for _, cr := range rep.Cases {
			if cr.ID == id {
				if r := cr.Results[0]; r.Error == "" && len(r.Assertions) == 1 {
					return r.Assertions[0]
				}
				t.Fatalf("case %s: %+v", id, cr.Results[0])
			}
		}
		t.Fatalf("no case %s", id)
		return AssertionResult{}
	}

	rep := run("judge-cloud")
	if a := outcome(rep, "clean"); !a.Pass {
		t.Errorf("clean item, proprietary judge: %+v, want judged and passed", a)
	}
	for _, id := range []string{"question", "system"} {
		a := outcome(rep, id)
		if a.Pass || !strings.Contains(a.Detail, "no_compliant_target") && !strings.Contains(a.Detail, "email") {
			t.Errorf("%s: sensitive item, proprietary judge: %+v, want refused by policy", id, a)
		}
	}
	if len(cloud.seen) != 1 {
		t.Errorf("the proprietary judge was called %d times, want once (the clean item)", len(cloud.seen))
	}
	for _, p := range cloud.seen {
		if strings.Contains(p, "ann.leak") {
			t.Fatalf("the e-mail reached the proprietary judge: %q", p)
		}
	}
	// The evaluated model is self-hosted: every item reached it.
	if len(box.seen) != 3 {
		t.Errorf("self-hosted model called %d times, want 3", len(box.seen))
	}

	rep = run("judge-local")
	for _, id := range []string{"clean", "question", "system"} {
		if a := outcome(rep, id); !a.Pass {
			t.Errorf("%s, self-hosted judge: %+v, want judged", id, a)
		}
	}
}

// TestJudgeDeclaresItemClasses: through a gateway, the classes it reported
// for an item (X-Fulcrum-Data-Classes) are declared on the judge call
// (X-Fulcrum-Data-Class), so the gateway clears the judge with them.
func TestJudgeDeclaresItemClasses(t *testing.T) {
	var mu sync.Mutex
	declared := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Model string `json:"model"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		w.Header().Set("Content-Type", "application/json")
		if body.Model == "judge" {
			mu.Lock()
			declared[string(b)] = r.Header.Get("X-Fulcrum-Data-Class")
			mu.Unlock()
			_, _ = w.Write([]byte(`{"id":"x","model":"judge","choices":[{"message":{"content":"{\"score\": 5}"},"finish_reason":"stop"}]}`))
			return
		}
		if strings.Contains(string(b), "ann.leak") {
			w.Header().Set("X-Fulcrum-Data-Classes", "email")
		}
		_, _ = w.Write([]byte(`{"id":"y","model":"m","choices":[{"message":{"content":"Paris"},"finish_reason":"stop"}]}`))
	}))
	defer srv.Close()
	s, err := ParseSuite([]byte(`
models: [m]
judge: {model: judge, rubric: "Names Paris."}
cases:
  - {id: clean, prompt: "Capital of France?", assert: [{type: judge}]}
  - id: system
    messages:
      - {role: system, content: "The user is ann.leak@example.com."}
      - {role: user, content: "Capital of Spain?"}
    assert: [{type: judge}]
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), s, Options{Client: &HTTPClient{BaseURL: srv.URL}}); err != nil {
		t.Fatal(err)
	}
	if len(declared) != 2 {
		t.Fatalf("judge calls: %v", declared)
	}
	for body, d := range declared {
		want := ""
		if strings.Contains(body, "Spain") {
			want = "email" // the judge prompt itself holds no e-mail: it comes from the item
		}
		if d != want {
			t.Errorf("judge call %s declared %q, want %q", body, d, want)
		}
	}
}
