package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// A run where every call of one model fails (no config: the model is not
// configured) must say so: 3 of 3 failed, accuracy 0, no cost, and the
// failed model is not on the Pareto front — before the fix its cost was
// "known" at $0 per 1,000 cases, so it dominated nothing and was marked.
func TestAllFailedModelIsNotParetoAndIsCounted(t *testing.T) {
	s, err := ParseSuite([]byte(countingSuite), ".")
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeClient{answer: func(req *llm.ChatRequest, _ int64) (*llm.ChatResponse, error) {
		if req.Model == "b" {
			return nil, &llm.Error{Status: http.StatusNotFound, Type: llm.ErrNotFound, Message: `model "b" is not configured`}
		}
		return textResp("You said: "+strings.TrimPrefix(req.Messages[0].Text(), "Say "), 4, 3), nil
	}}
	price := func(model string, u llm.Usage) (float64, bool) {
		return float64(u.InputTokens+u.OutputTokens) / 1e6, true
	}
	rep, err := Run(context.Background(), s, Options{Client: fc, Price: price})
	if err != nil {
		t.Fatal(err)
	}
	a, b := rep.Summary("a"), rep.Summary("b")
	if b.Errors != 3 || b.Cases != 3 || b.Accuracy != 0 || b.CostKnown || b.Pareto {
		t.Errorf("all-failed model: %+v", *b)
	}
	if !a.Pareto || a.Errors != 0 || a.Accuracy != 1 {
		t.Errorf("working model: %+v", *a)
	}
	line := rep.ErrorSummary()
	for _, want := range []string{"6 calls, 3 failed", "a 0 of 3 failed", `b 3 of 3 failed (first: 404 model "b" is not configured)`} {
		if !strings.Contains(line, want) {
			t.Errorf("summary %q lacks %q", line, want)
		}
	}
	if got := rep.ErrorRateExceeded(0); len(got) != 1 || got[0] != "b" {
		t.Errorf("default threshold: %v, want [b]", got)
	}
	// 3 of 3 = 100% is above any rate below 1.
	if got := rep.ErrorRateExceeded(0.99); len(got) != 1 {
		t.Errorf("at 0.99: %v", got)
	}
	if got := rep.ErrorRateExceeded(1); len(got) != 0 {
		t.Errorf("at 1: %v", got)
	}
	// Both failed: neither is on the front.
	ms := []ModelSummary{{Model: "x", Cases: 2, Errors: 2}, {Model: "y", Cases: 2, Errors: 2}}
	markPareto(ms)
	if ms[0].Pareto || ms[1].Pareto {
		t.Errorf("all failed, marked Pareto: %+v", ms)
	}
}

// Results already in the output directory are kept: the next run goes to a
// sub-directory named after its start time, unless force is set.
func TestOutputDirNeverOverwritesSilently(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gsm8k")
	rep := &Report{Suite: "s", StartedAt: time.Date(2026, 12, 2, 18, 30, 5, 0, time.UTC)}
	if got, moved := OutputDir(dir, rep, false); got != dir || moved {
		t.Fatalf("empty dir: %s %v", got, moved)
	}
	if _, err := WriteFiles(dir, rep); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, ResultsJSON))
	got, moved := OutputDir(dir, rep, false)
	if want := filepath.Join(dir, "20261202-183005"); got != want || !moved {
		t.Fatalf("second run goes to %s (moved %v), want %s", got, moved, want)
	}
	if _, err := WriteFiles(got, &Report{Suite: "other", StartedAt: rep.StartedAt}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, ResultsJSON)); string(after) != string(before) {
		t.Error("the first results were overwritten")
	}
	if again, _ := OutputDir(dir, rep, false); again != filepath.Join(dir, "20261202-183005-2") {
		t.Errorf("third run at the same second: %s", again)
	}
	if f, moved := OutputDir(dir, rep, true); f != dir || moved {
		t.Errorf("force: %s %v", f, moved)
	}
}

// echoProvider answers with its own name and the upstream model.
type echoProvider struct {
	name  string
	calls int
	info  provider.Info
}

func (p *echoProvider) Info() *provider.Info { return &p.info }
func (p *echoProvider) Chat(_ context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := pm.Check(p.Info()); err != nil {
		return nil, err
	}
	p.calls++
	return textResp(fmt.Sprintf("%s/%s", p.name, req.Model), 1, 1), nil
}
func (p *echoProvider) ChatStream(context.Context, policy.Permit, *llm.ChatRequest) (provider.Stream, error) {
	return nil, errors.New("no streams")
}
func (p *echoProvider) Embed(context.Context, policy.Permit, *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	return nil, errors.New("no embeddings")
}
func (p *echoProvider) Forward(context.Context, policy.Permit, *provider.RawRequest) (*http.Response, error) {
	return nil, errors.New("no pass-through")
}

// Repointing a model (same name, another upstream model or provider) must
// not return the old answers: the cache key holds provider and upstream.
func TestCacheKeyFollowsUpstream(t *testing.T) {
	s, err := ParseSuite([]byte("models: [m]\nprompt: hi\ncases: [{vars: {}}]\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p1, p2 := &echoProvider{name: "p1"}, &echoProvider{name: "p2"}
	providers := map[string]provider.Provider{"p1": p1, "p2": p2}
	answer := func(prov, upstream string) string {
		t.Helper()
		cfg := &config.Config{
			Providers: []config.Provider{{Name: "p1", Type: "openai", BaseURL: "http://a"}, {Name: "p2", Type: "openai", BaseURL: "http://b"}},
			Models:    []config.Model{{Name: "m", Provider: prov, Upstream: upstream}},
		}
		c, err := NewProviderClient(cfg, providers)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Run(context.Background(), s, Options{Client: c, CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return rep.Cases[0].Results[0].Answer
	}
	if a := answer("p1", "model-a"); a != "p1/model-a" {
		t.Fatalf("first answer %q", a)
	}
	if a := answer("p1", "model-a"); a != "p1/model-a" || p1.calls != 1 {
		t.Fatalf("same target: %q after %d calls, want a cache hit", a, p1.calls)
	}
	if a := answer("p1", "model-b"); a != "p1/model-b" {
		t.Errorf("repointed upstream model: got the stale %q", a)
	}
	if a := answer("p2", "model-b"); a != "p2/model-b" {
		t.Errorf("repointed provider: got the stale %q", a)
	}
	// The gateway client keys on the base URL and the model name.
	h1, h2 := &HTTPClient{BaseURL: "http://g1/v1"}, &HTTPClient{BaseURL: "http://g2/v1/"}
	if h1.Identity("m") == h2.Identity("m") || h1.Identity("m") == h1.Identity("n") {
		t.Error("gateway identities collide")
	}
}

// The summary and the HTML report give no accuracy to a model whose every
// call failed: it read "0.0%" beside its 3 errors, a figure measured on
// nothing. A model with some failed calls shows its accuracy over the
// answered cases as well: 1 passed of 3 cases, 1 failed call, is 33.3%
// (50.0% of 2 answered).
func TestReportsShowNoAccuracyWithoutAnswers(t *testing.T) {
	rep := &Report{Suite: "s", Models: []ModelSummary{
		{Model: "down", Cases: 3, Errors: 3},
		{Model: "flaky", Cases: 3, Errors: 1, Passed: 1, Accuracy: 1.0 / 3},
		{Model: "fine", Cases: 3, Passed: 3, Accuracy: 1},
	}}
	var md, html strings.Builder
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| down | n/a (every call failed) | 0 / 3 | 3 |", "| flaky | 33.3% (50.0% of 2 answered) | 1 / 3 | 1 |", "| fine | 100.0% | 3 / 3 | 0 |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	for _, want := range []string{">n/a (every call failed)<", ">33.3% (50.0% of 2 answered)<"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// The data policy decides what a call sends (redacted, kept on self-hosted
// providers, blocked), so the cache keys on it too. Run under a policy
// that allows email to a proprietary provider, then under one that keeps
// it self-hosted: the second run answered from the cache, reported the
// case as answered and passed, though the policy in force would have sent
// nothing (by hand: 1 call, then 1 failed call, 403, and no second call).
func TestCacheKeyFollowsPolicy(t *testing.T) {
	s, err := ParseSuite([]byte("models: [m]\nprompt: \"what is 9+9? reply to ann@example.com\"\ncases: [{vars: {}}]\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &echoProvider{name: "api", info: provider.Info{Name: "api", Hosting: provider.Proprietary}}
	run := func(onSensitive string) *Report {
		t.Helper()
		cfg, err := config.Parse([]byte(`
providers: [{name: api, type: openai, base_url: "http://a", hosting: proprietary}]
models: [{name: m, provider: api}]
policy: {default: p, policies: [{name: p, on_sensitive: `+onSensitive+`}]}
`), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewProviderClient(cfg, map[string]provider.Provider{"api": p})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Run(context.Background(), s, Options{Client: c, CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := run("allow"); rep.Models[0].Errors != 0 || p.calls != 1 {
		t.Fatalf("allowed: %+v after %d calls", rep.Models[0], p.calls)
	}
	if rep := run("allow"); p.calls != 1 || rep.CacheHits != 1 {
		t.Fatalf("same policy: %d calls, %d hits, want a cache hit", p.calls, rep.CacheHits)
	}
	rep := run("self_hosted_only")
	if m := rep.Models[0]; m.Errors != 1 || rep.CacheHits != 0 || !strings.Contains(m.FirstError, "403") || p.calls != 1 {
		t.Errorf("tightened policy: %+v, %d hits, %d calls; want the call refused, not the cached answer", m, rep.CacheHits, p.calls)
	}
}

// A judge that cannot grade (its call fails, or it gives no score) has
// measured nothing: the case is not scored and counts among the errors, so
// the summary line names it and the run exits 1. Before, a judge model
// that was not configured failed every judge assertion: every model read
// 0.0%, "0 failed", and the run passed. By hand: 3 cases answered by m;
// the judge scores fr 5 (pass), fails on de (500, after its retries) and
// answers it with no score: 1 passed, 2 errors (both the judge's),
// accuracy 1/3 = 33.3%, and 100% of the 1 scored case.
func TestJudgeFailuresAreErrorsNotWrongAnswers(t *testing.T) {
	s, err := ParseSuite([]byte(`
models: [m]
judge: {model: judge-model, rubric: "Names the capital of {{country}}."}
prompt: "What is the capital of {{country}}?"
cases:
  - {id: fr, vars: {country: France}, assert: [{type: judge}]}
  - {id: de, vars: {country: Germany}, assert: [{type: judge}]}
  - {id: it, vars: {country: Italy}, assert: [{type: judge}]}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeClient{answer: func(req *llm.ChatRequest, _ int64) (*llm.ChatResponse, error) {
		if req.Model != "judge-model" {
			return textResp("Paris, Berlin or Rome.", 10, 5), nil
		}
		switch user := req.Messages[1].Text(); {
		case strings.Contains(user, "France"):
			return textResp(`{"score": 5, "reason": "names Paris"}`, 50, 10), nil
		case strings.Contains(user, "Germany"):
			return nil, &llm.Error{Status: http.StatusInternalServerError, Type: llm.ErrUpstream, Message: "judge down"}
		}
		return textResp("I cannot grade this.", 50, 10), nil
	}}
	rep, err := Run(context.Background(), s, Options{Client: fc, Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Summary("m")
	if m.Cases != 3 || m.Passed != 1 || m.Errors != 2 || m.JudgeErrors != 2 || !strings.HasPrefix(m.FirstError, "judge failed: 500") {
		t.Fatalf("summary %+v", *m)
	}
	// The answers were given: their tokens count (3 × 10 in, 3 × 5 out).
	if m.InputTokens != 30 || m.OutputTokens != 15 {
		t.Errorf("tokens %d / %d, want 30 / 15", m.InputTokens, m.OutputTokens)
	}
	if got := rep.Cases[2].Results[0].JudgeError; !strings.Contains(got, "the judge gave no score") {
		t.Errorf("it: judge error %q", got)
	}
	if bad := rep.ErrorRateExceeded(0); len(bad) != 1 {
		t.Errorf("exceeded %v, want [m]", bad)
	}
	if line := rep.ErrorSummary(); !strings.Contains(line, "m 2 of 3 failed (first: judge failed: 500") {
		t.Errorf("summary line %q", line)
	}
	if got := accuracyCell(*m); got != "33.3% (100.0% of 1 scored)" {
		t.Errorf("accuracy cell %q", got)
	}
}

// Runs finishing at once never share an output directory: each claims its
// own (results.json created only if absent, a sub-directory made only if
// absent). Before, OutputDir only looked, so 8 runs at the same second
// into one directory all picked the directory itself, or the same
// sub-directory, and overwrote each other's results.
func TestOutputDirClaimsItsPlace(t *testing.T) {
	for _, held := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "out")
		if held {
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, ResultsJSON), []byte("{}"), 0o644)
		}
		rep := &Report{Suite: "s", StartedAt: time.Date(2026, 12, 2, 18, 30, 5, 0, time.UTC)}
		const n = 8
		got := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], _ = OutputDir(dir, rep, false)
			}()
		}
		wg.Wait()
		seen := map[string]bool{}
		for _, d := range got {
			if seen[d] {
				t.Errorf("held %v: two runs got %s: %v", held, d, got)
			}
			seen[d] = true
		}
		if seen[dir] == held {
			t.Errorf("held %v: the directory itself given: %v", held, seen[dir])
		}
	}
}

// fakeGateway answers as an OpenAI-compatible gateway does: "smart" is an
// alias for an upstream model, /v1/models/smart lists it with the
// provider as owned_by, and a chat completion names the upstream model
// that answered in its model field (or the alias, when named is false).
// https://platform.openai.com/docs/api-reference/chat/object
type fakeGateway struct {
	mu              sync.Mutex // guards the following fields
	upstream, owner string
	named           bool
	chats, lists    int
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/v1/models/smart":
		g.lists++
		fmt.Fprintf(w, `{"id":"smart","object":"model","created":1704067200,"owned_by":%q}`, g.owner)
	case "/v1/chat/completions":
		g.chats++
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		model := "smart"
		if g.named {
			model = g.upstream
		}
		fmt.Fprintf(w, `{"id":"chatcmpl-%d","object":"chat.completion","created":1704067200,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`,
			g.chats, model, g.upstream+"/"+g.owner+": "+req.Messages[0].Content)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"message":"not found","type":"invalid_request_error","code":"model_not_found"}}`)
	}
}

// Evaluating through a gateway, the cache keyed on the URL and the model
// name, so after the gateway repointed "smart" from gpt-4o to
// gpt-4o-mini the next run answered all three cases from the cache with
// gpt-4o's answers (0 calls). Now the first call of each model in a run
// is asked live and every answer is keyed on the model the answer names
// and on the gateway's /v1/models entry: by hand, run 1 makes 3 calls, run
// 2 1 (the live first) and 2 cache hits, run 3 after the repoint 1 live
// call naming gpt-4o-mini, so the other 2 miss and are asked: 3 calls,
// every answer gpt-4o-mini's. A gateway that names the alias, not the
// upstream, in its answers is still followed when the entry's owned_by
// changes (another provider).
func TestGatewayCacheFollowsRepointedAlias(t *testing.T) {
	s, err := ParseSuite([]byte("models: [smart]\nprompt: \"{{q}}\"\ncases: [{vars: {q: one}}, {vars: {q: two}}, {vars: {q: three}}]\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name            string
		named           bool
		owner, upstream string // after the repoint
		want            string
	}{
		{"answer names the upstream", true, "openai", "gpt-4o-mini", "gpt-4o-mini/openai: "},
		{"entry names another provider", false, "azure", "gpt-4o", "gpt-4o/azure: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &fakeGateway{upstream: "gpt-4o", owner: "openai", named: tc.named}
			srv := httptest.NewServer(g)
			defer srv.Close()
			dir := t.TempDir()
			run := func() *Report {
				t.Helper()
				rep, err := Run(context.Background(), s, Options{Client: &HTTPClient{BaseURL: srv.URL + "/v1"}, CacheDir: dir, Concurrency: 3})
				if err != nil {
					t.Fatal(err)
				}
				return rep
			}
			if rep := run(); rep.Calls != 3 || rep.CacheHits != 0 {
				t.Fatalf("run 1: %d calls, %d hits", rep.Calls, rep.CacheHits)
			}
			if rep := run(); rep.Calls != 1 || rep.CacheHits != 2 {
				t.Errorf("run 2, nothing repointed: %d calls, %d hits, want 1 and 2", rep.Calls, rep.CacheHits)
			}
			g.mu.Lock()
			g.upstream, g.owner = tc.upstream, tc.owner
			g.mu.Unlock()
			rep := run()
			for _, c := range rep.Cases {
				if a := c.Results[0].Answer; !strings.HasPrefix(a, tc.want) {
					t.Errorf("after the repoint: %q, want %s's answer", a, tc.want)
				}
			}
			if rep.Calls != 3 || rep.CacheHits != 0 {
				t.Errorf("run 3, repointed: %d calls, %d hits, want 3 and 0", rep.Calls, rep.CacheHits)
			}
			if g.lists != 3 {
				t.Errorf("%d /v1/models lookups, want one a run", g.lists)
			}
		})
	}
}

// Retries of 0, in the suite or from the caller (--retries 0), mean none:
// a model that fails every first call then fails each case once. Before,
// 0 was read as unset and the suite's default of 2 applied, so a run meant
// to count first-call failures retried them and reported none. Unset, the
// suite's retries (default 2) apply, and the caller's replace them.
func TestZeroRetriesMeansNone(t *testing.T) {
	for _, c := range []struct {
		name         string
		suite        string
		opt          *int
		calls, fails int64
	}{
		{"suite 0", "retries: 0\n", nil, 6, 6},
		{"option 0 over the suite's 2", "retries: 2\n", new(0), 6, 6},
		{"default 2", "", nil, 12, 0},
		{"option 1 over the suite's 0", "retries: 0\n", new(1), 12, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseSuite([]byte(countingSuite+c.suite+"concurrency: 1\n"), ".")
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			seen := map[string]bool{}
			fc := &fakeClient{answer: func(req *llm.ChatRequest, _ int64) (*llm.ChatResponse, error) {
				mu.Lock()
				defer mu.Unlock()
				key := req.Model + req.Messages[0].Text()
				if !seen[key] {
					seen[key] = true
					return nil, &llm.Error{Status: 503, Type: llm.ErrOverloaded, Message: "overloaded"}
				}
				return textResp("one two three", 1, 1), nil
			}}
			rep, err := Run(context.Background(), s, Options{Client: fc, Retries: c.opt, Sleep: func(context.Context, time.Duration) error { return nil }})
			if err != nil {
				t.Fatal(err)
			}
			var fails int64
			for _, m := range []string{"a", "b"} {
				fails += int64(rep.Summary(m).Errors)
			}
			if got := fc.calls.Load(); got != c.calls || fails != c.fails {
				t.Errorf("%d calls, %d failed cases; want %d and %d", got, fails, c.calls, c.fails)
			}
		})
	}
}
