package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// fakeClient answers from a function and counts calls.
type fakeClient struct {
	calls  atomic.Int64
	answer func(req *llm.ChatRequest, n int64) (*llm.ChatResponse, error)
}

func (f *fakeClient) Chat(_ context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	n := f.calls.Add(1)
	return f.answer(req, n)
}

func textResp(text string, in, out int64) *llm.ChatResponse {
	return &llm.ChatResponse{
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, text), FinishReason: "stop"}},
		Usage:   &llm.Usage{InputTokens: in, OutputTokens: out},
	}
}

func TestExtractNumber(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"so 9 * 2 = 18.\n#### 18", "18", true},
		{"#### $1,234.50 dollars", "1234.50", true},
		{"#### -54\n\n", "-54", true},
		{"He makes $18 every day. Earlier 7 eggs.", "7", true},
		{"The answer is 42. Check: 6 * 7", "42", true},
		{"The answer is: $3,000", "3000", true},
		{`so \boxed{12} and 13 more`, "12", true},
		{"it takes 2 + 1 = 3 bolts.", "3", true},
		{"total is $33.00.", "33.00", true},
		{"no number here", "", false},
		{"#### seven; earlier 7", "7", true},
	}
	for _, tt := range tests {
		got, ok := ExtractNumber(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ExtractNumber(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAssertions(t *testing.T) {
	schema := map[string]any{
		"type":     "object",
		"required": []any{"name", "age"},
		"properties": map[string]any{
			"name": map[string]any{"type": "string"},
			"age":  map[string]any{"type": "integer", "minimum": 0},
		},
	}
	vars := map[string]string{"city": "Paris", "n": "18"}
	tests := []struct {
		name   string
		a      Assertion
		answer string
		lat    float64
		cost   float64
		known  bool
		want   bool
	}{
		{"equals", Assertion{Type: "equals", Value: "Paris"}, " Paris\n", 0, 0, false, true},
		{"equals var", Assertion{Type: "equals", Value: "{{city}}"}, "Paris", 0, 0, false, true},
		{"equals case", Assertion{Type: "equals", Value: "paris"}, "Paris", 0, 0, false, false},
		{"equals ignore case", Assertion{Type: "equals", Value: "paris", IgnoreCase: true}, "Paris", 0, 0, false, true},
		{"equals not", Assertion{Type: "equals", Value: "Lyon", Not: true}, "Paris", 0, 0, false, true},
		{"contains", Assertion{Type: "contains", Value: "Paris"}, "It is Paris.", 0, 0, false, true},
		{"contains miss", Assertion{Type: "contains", Value: "Paris"}, "It is Lyon.", 0, 0, false, false},
		{"contains ignore case", Assertion{Type: "contains", Value: "PARIS", IgnoreCase: true}, "It is Paris.", 0, 0, false, true},
		{"contains not", Assertion{Type: "contains", Value: "sorry", Not: true}, "Sure, sorry.", 0, 0, false, false},
		{"regex", Assertion{Type: "regex", Value: `^\d{3}-\d{4}$`}, "555-1234", 0, 0, false, true},
		{"regex miss", Assertion{Type: "regex", Value: `^\d{3}-\d{4}$`}, "call 555-1234", 0, 0, false, false},
		{"regex var", Assertion{Type: "regex", Value: `(?i)capital.*{{city}}`}, "The capital is Paris", 0, 0, false, true},
		{"numeric", Assertion{Type: "numeric", Value: "{{n}}"}, "so $18.00\n#### 18", 0, 0, false, true},
		{"numeric cents tolerant", Assertion{Type: "numeric", Value: "33"}, "total $33.00", 0, 0, false, true},
		{"numeric cents exact", Assertion{Type: "numeric", Value: "33", Exact: true}, "total $33.00", 0, 0, false, false},
		{"numeric tolerance", Assertion{Type: "numeric", Value: "3.14159", Tolerance: 0.01}, "about 3.14", 0, 0, false, true},
		{"numeric wrong", Assertion{Type: "numeric", Value: "18"}, "#### 17", 0, 0, false, false},
		{"numeric none", Assertion{Type: "numeric", Value: "18"}, "eighteen", 0, 0, false, false},
		{"json", Assertion{Type: "json"}, `{"a": [1, 2]}`, 0, 0, false, true},
		{"json fenced", Assertion{Type: "json"}, "```json\n{\"a\": 1}\n```", 0, 0, false, true},
		{"json invalid", Assertion{Type: "json"}, `{"a": 1,}`, 0, 0, false, false},
		{"json_schema", Assertion{Type: "json_schema", Schema: schema}, `{"name": "Ada", "age": 36}`, 0, 0, false, true},
		{"json_schema missing field", Assertion{Type: "json_schema", Schema: schema}, `{"name": "Ada"}`, 0, 0, false, false},
		{"json_schema wrong type", Assertion{Type: "json_schema", Schema: schema}, `{"name": "Ada", "age": -1}`, 0, 0, false, false},
		{"json_schema not json", Assertion{Type: "json_schema", Schema: schema}, `name: Ada`, 0, 0, false, false},
		{"max_latency", Assertion{Type: "max_latency", MaxMs: 500}, "x", 499, 0, false, true},
		{"max_latency over", Assertion{Type: "max_latency", MaxMs: 500}, "x", 501, 0, false, false},
		{"max_cost", Assertion{Type: "max_cost", MaxUSD: 0.01}, "x", 0, 0.009, true, true},
		{"max_cost over", Assertion{Type: "max_cost", MaxUSD: 0.01}, "x", 0, 0.011, true, false},
		{"max_cost unknown", Assertion{Type: "max_cost", MaxUSD: 0.01}, "x", 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			if err := a.compile(); err != nil {
				t.Fatal(err)
			}
			r := &Result{Answer: tt.answer, LatencyMs: tt.lat, CostUSD: tt.cost, CostKnown: tt.known}
			got := a.check(r, vars)
			if got.Pass != tt.want {
				t.Errorf("pass = %v (%s), want %v", got.Pass, got.Detail, tt.want)
			}
			if !got.Pass && got.Detail == "" {
				t.Errorf("a failure without detail")
			}
		})
	}
}

func TestJudge(t *testing.T) {
	s, err := ParseSuite([]byte(`
models: [m]
judge: {model: judge-model, rubric: "Names the capital of {{country}}."}
prompt: "What is the capital of {{country}}?"
cases:
  - {id: fr, vars: {country: France}, assert: [{type: judge}]}
  - {id: de, vars: {country: Germany}, assert: [{type: judge, threshold: 5}]}
  - {id: it, vars: {country: Italy}, assert: [{type: judge}]}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var judgePrompts []string
	fc := &fakeClient{answer: func(req *llm.ChatRequest, _ int64) (*llm.ChatResponse, error) {
		if req.Model == "judge-model" {
			user := req.Messages[1].Text()
			mu.Lock()
			judgePrompts = append(judgePrompts, user)
			mu.Unlock()
			switch {
			case strings.Contains(user, "France"):
				return textResp(`{"score": 5, "reason": "names Paris"}`, 50, 10), nil
			case strings.Contains(user, "Germany"):
				return textResp(`Score: 4`, 50, 10), nil
			default:
				return textResp(`I cannot grade this.`, 50, 10), nil
			}
		}
		return textResp("The capital is somewhere.", 10, 5), nil
	}}
	price := func(model string, u llm.Usage) (float64, bool) { return float64(u.Total()) / 1e3, true }
	rep, err := Run(context.Background(), s, Options{Client: fc, Price: price})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range rep.Cases {
		got[c.ID] = c.Results[0].Pass
	}
	if diff := cmp.Diff(map[string]bool{"fr": true, "de": false, "it": false}, got); diff != "" {
		t.Errorf("judge outcomes (-want +got):\n%s", diff)
	}
	if a := rep.Cases[0].Results[0].Assertions[0]; a.Score == nil || *a.Score != 5 {
		t.Errorf("fr assertion = %+v", a)
	}
	if rep.JudgeModel != "judge-model" || rep.JudgeCostUSD != 3*0.06 {
		t.Errorf("judge cost = %v %v", rep.JudgeModel, rep.JudgeCostUSD)
	}
	for _, p := range judgePrompts {
		if !strings.Contains(p, "RUBRIC:\nNames the capital of") || !strings.Contains(p, "ANSWER:\nThe capital is somewhere.") {
			t.Errorf("judge prompt = %q", p)
		}
	}
}

const countingSuite = `
name: counting
models: [a, b]
prompt: "Say {{word}}"
assert: [{type: contains, value: "{{word}}"}]
cases:
  - vars: {word: one}
  - vars: {word: two}
  - vars: {word: three}
`

func TestCacheMakesRerunFree(t *testing.T) {
	s, err := ParseSuite([]byte(countingSuite), ".")
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeClient{answer: func(req *llm.ChatRequest, _ int64) (*llm.ChatResponse, error) {
		return textResp("You said: "+strings.TrimPrefix(req.Messages[0].Text(), "Say "), 4, 3), nil
	}}
	dir := t.TempDir()
	first, err := Run(context.Background(), s, Options{Client: fc, CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if n := fc.calls.Load(); n != 6 || first.Calls != 6 || first.CacheHits != 0 {
		t.Fatalf("first run: %d calls (report %d, hits %d), want 6", n, first.Calls, first.CacheHits)
	}
	second, err := Run(context.Background(), s, Options{Client: fc, CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if n := fc.calls.Load(); n != 6 || second.Calls != 0 || second.CacheHits != 6 {
		t.Errorf("second run made %d upstream calls (report %d, hits %d), want none", n-6, second.Calls, second.CacheHits)
	}
	for i := range first.Cases {
		for j := range first.Cases[i].Results {
			a, b := first.Cases[i].Results[j], second.Cases[i].Results[j]
			if !b.Cached || a.Answer != b.Answer || a.Pass != b.Pass || a.OutputTokens != b.OutputTokens || a.LatencyMs != b.LatencyMs {
				t.Errorf("case %d model %d: first %+v, second %+v", i, j, a, b)
			}
		}
	}
	// --no-cache asks again; a changed prompt is a different key.
	if _, err := Run(context.Background(), s, Options{Client: fc, CacheDir: dir, NoCache: true}); err != nil {
		t.Fatal(err)
	}
	if n := fc.calls.Load(); n != 12 {
		t.Errorf("after --no-cache: %d calls, want 12", n)
	}
	s.Prompt = "Please say {{word}}"
	if _, err := Run(context.Background(), s, Options{Client: fc, CacheDir: dir}); err != nil {
		t.Fatal(err)
	}
	if n := fc.calls.Load(); n != 18 {
		t.Errorf("after a prompt change: %d calls, want 18", n)
	}
}

func TestRetries(t *testing.T) {
	s, err := ParseSuite([]byte(countingSuite+"retries: 2\nconcurrency: 1\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	var mu sync.Mutex
	sleep := func(_ context.Context, d time.Duration) error {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		return nil
	}
	// Model a: 429 with Retry-After then success. Model b: always 400.
	attempts := map[string]int{}
	fc := &fakeClient{answer: func(req *llm.ChatRequest, _ int64) (*llm.ChatResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		key := req.Model + req.Messages[0].Text()
		attempts[key]++
		if req.Model == "b" {
			return nil, &llm.Error{Status: 400, Type: llm.ErrInvalidRequest, Message: "bad request"}
		}
		if attempts[key] == 1 {
			return nil, &llm.Error{Status: 429, Type: llm.ErrRateLimit, Message: "slow down", RetryAfter: 2 * time.Second}
		}
		return textResp("one two three", 1, 1), nil
	}}
	rep, err := Run(context.Background(), s, Options{Client: fc, Sleep: sleep})
	if err != nil {
		t.Fatal(err)
	}
	a, b := rep.Summary("a"), rep.Summary("b")
	if a.Errors != 0 || a.Passed != 3 || b.Errors != 3 || b.Passed != 0 {
		t.Errorf("a %+v b %+v", a, b)
	}
	if got := fc.calls.Load(); got != 6+3 {
		t.Errorf("%d calls, want 9 (a: 2 each, b: 1 each; 400 is not retried)", got)
	}
	if len(slept) != 3 || slept[0] != 2*time.Second {
		t.Errorf("slept %v, want three Retry-After waits of 2s", slept)
	}
	if e := rep.Cases[0].Results[1].Error; e != "400 bad request" {
		t.Errorf("error text %q", e)
	}
}

func TestHTTPClient(t *testing.T) {
	var gotAuth, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		if strings.Contains(gotBody, "limit") {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(429)
			io.WriteString(w, `{"error":{"message":"Rate limit reached","type":"rate_limit_error","code":"rate_limit_exceeded"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4","choices":[{"index":0,"message":{"role":"assistant","content":"Paris"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}`)
	}))
	defer srv.Close()
	c := &HTTPClient{BaseURL: srv.URL + "/v1/", APIKey: "sk-test"}
	max := 5
	resp, err := c.Chat(context.Background(), &llm.ChatRequest{Model: "gpt-4", MaxTokens: &max, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "Capital of France?")}})
	if err != nil {
		t.Fatal(err)
	}
	if gotAuth != "Bearer sk-test" || gotBody != `{"model":"gpt-4","messages":[{"role":"user","content":"Capital of France?"}],"max_tokens":5}` {
		t.Errorf("sent %q %s", gotAuth, gotBody)
	}
	if resp.Choices[0].Message.Text() != "Paris" || resp.Usage.InputTokens != 12 || resp.Usage.OutputTokens != 2 {
		t.Errorf("resp %+v", resp)
	}
	_, err = c.Chat(context.Background(), &llm.ChatRequest{Model: "gpt-4", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "limit")}})
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 429 || e.RetryAfter != 3*time.Second || e.Message != "Rate limit reached" || !retryable(err) {
		t.Errorf("429: %v", err)
	}
}

func TestParseSuiteErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"no cases", "models: [a]\nprompt: x\n", "no cases"},
		{"undefined var", "models: [a]\nprompt: '{{q}}'\ncases: [{vars: {x: 1}}]\n", "undefined variable {{q}}"},
		{"bad regex", "models: [a]\nprompt: x\nassert: [{type: regex, value: '('}]\ncases: [{id: a}]\n", "regex"},
		{"unknown type", "models: [a]\nprompt: x\nassert: [{type: fuzzy}]\ncases: [{id: a}]\n", "unknown assertion type"},
		{"both", "models: [a]\nprompt: x\nmessages: [{role: user, content: y}]\ncases: [{id: a}]\n", "not both"},
		{"bad role", "models: [a]\nmessages: [{role: robot, content: y}]\ncases: [{id: a}]\n", "role"},
		{"judge without model", "models: [a]\nprompt: x\nassert: [{type: judge, rubric: r}]\ncases: [{id: a}]\n", "judge"},
		{"duplicate id", "models: [a]\nprompt: x\ncases: [{id: a}, {id: a}]\n", "duplicate"},
		{"unknown field", "models: [a]\npromt: x\n", "promt"},
		{"missing file", "models: [a]\nprompt: x\ncases_from: nope.jsonl\n", "nope.jsonl"},
		// Before, an empty file failed as "EOF".
		{"empty", "", "the suite is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSuite([]byte(tt.yaml), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCasesFromFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c.jsonl"), []byte(`{"id": "x1", "q": "2+2?", "a": 4}`+"\n\n"+`{"q": "3+3?", "a": 6}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "c.csv"), []byte("q,a\n\"1,5+1\",2.5\n"), 0o644)
	for _, f := range []string{"c.jsonl", "c.csv"} {
		s, err := ParseSuite([]byte("models: [m]\nprompt: '{{q}}'\nassert: [{type: numeric, value: '{{a}}'}]\ncases_from: "+f+"\n"), dir)
		if err != nil {
			t.Fatal(err)
		}
		fc := &fakeClient{answer: func(req *llm.ChatRequest, _ int64) (*llm.ChatResponse, error) {
			switch req.Messages[0].Text() {
			case "2+2?":
				return textResp("#### 4", 1, 1), nil
			case "3+3?":
				return textResp("it is 6", 1, 1), nil
			case "1,5+1":
				return textResp("2.5", 1, 1), nil
			}
			return nil, errors.New("unexpected prompt")
		}}
		rep, err := Run(context.Background(), s, Options{Client: fc})
		if err != nil {
			t.Fatal(err)
		}
		if m := rep.Models[0]; m.Passed != m.Cases || m.Cases == 0 {
			t.Errorf("%s: %+v", f, m)
		}
		if f == "c.jsonl" && (rep.Cases[0].ID != "x1" || rep.Cases[1].ID != "2") {
			t.Errorf("ids %q %q", rep.Cases[0].ID, rep.Cases[1].ID)
		}
	}
}

func TestPareto(t *testing.T) {
	ms := []ModelSummary{
		{Model: "big", Cases: 10, Accuracy: 0.9, CostPer1000: 10, CostKnown: true},
		{Model: "small", Cases: 10, Accuracy: 0.6, CostPer1000: 0.1, CostKnown: true},
		{Model: "worse", Cases: 10, Accuracy: 0.5, CostPer1000: 1, CostKnown: true},
		{Model: "tie", Cases: 10, Accuracy: 0.9, CostPer1000: 10, CostKnown: true},
		{Model: "unpriced", Cases: 10, Accuracy: 1},
	}
	markPareto(ms)
	got := paretoFront(ms)
	if diff := cmp.Diff([]string{"big", "small", "tie"}, got); diff != "" {
		t.Errorf("front (-want +got):\n%s", diff)
	}
	if p := percentile([]float64{5, 1, 4, 2, 3}, 50); p != 3 {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 100}, 95); p != 19 {
		t.Errorf("p95 = %v", p)
	}
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	p := newProgress(&buf, false, 20, func() time.Time { return clock })
	for range 20 {
		p.step()
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 10 || lines[9] != "eval: 20/20 calls done (100%) in 0s" {
		t.Errorf("plain progress:\n%s", buf.String())
	}
	buf.Reset()
	p = newProgress(&buf, true, 2, func() time.Time { clock = clock.Add(time.Second); return clock })
	p.step()
	p.step()
	if !strings.HasPrefix(buf.String(), "\r[===============               ] 1/2  50%") || !strings.HasSuffix(buf.String(), "\n") {
		t.Errorf("tty progress %q", buf.String())
	}
}

// The reports of a small run are well-formed: the JSON round-trips, the
// HTML parses as XML and holds the chart, the table and no external
// resources, and the Markdown has the model table.
func TestReportsWellFormed(t *testing.T) {
	s, err := ParseSuite([]byte(`
name: "report <test>"
models: [mixtral-8x7b, gpt-4]
prompt: "{{question}}"
assert: [{type: numeric, value: "{{answer}}", exact: true}]
cases_from: builtin:gsm8k
limit: 25
costs:
  mixtral-8x7b: {gpu_hourly_usd: 2.69, gpus: 2, output_tokens_per_second: 1728}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), s, Options{Client: replayClient(t), Price: gpt4Price,
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths, err := WriteFiles(dir, rep)
	if err != nil || len(paths) != 3 {
		t.Fatal(paths, err)
	}

	back, err := ReadJSONFile(filepath.Join(dir, ResultsJSON))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep, back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}

	html, _ := os.ReadFile(filepath.Join(dir, ReportHTML))
	dec := xml.NewDecoder(bytes.NewReader(html))
	dec.Strict = true
	counts := map[string]int{}
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("HTML is not well-formed: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			counts[el.Name.Local]++
			for _, a := range el.Attr {
				if (a.Name.Local == "src" || a.Name.Local == "href") && strings.Contains(a.Value, "//") {
					t.Errorf("external resource %s=%q", a.Name.Local, a.Value)
				}
			}
		case xml.CharData:
			text.Write(el)
		}
	}
	if counts["svg"] != 1 || counts["circle"] != 2 || counts["polyline"] != 1 || counts["style"] != 1 || counts["script"] != 0 {
		t.Errorf("elements: %v", counts)
	}
	if counts["tr"] != 1+2+1+25 { // model table head + 2 models, case table head + 25 cases
		t.Errorf("%d table rows", counts["tr"])
	}
	for _, want := range []string{"report <test>", "mixtral-8x7b", "gpt-4", "Pareto", "Janet"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("HTML text lacks %q", want)
		}
	}

	md, _ := os.ReadFile(filepath.Join(dir, SummaryMD))
	for _, want := range []string{"# Eval: report <test>", "| gpt-4 ★ |", "| mixtral-8x7b ★ |", "## Where the models differ"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	var raw map[string]any
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, ResultsJSON)), &raw); err != nil || raw["cases"] == nil {
		t.Errorf("results.json: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCancelledRunReturnsPartialReport(t *testing.T) {
	s, _ := ParseSuite([]byte(countingSuite), ".")
	ctx, cancel := context.WithCancel(context.Background())
	fc := &fakeClient{answer: func(req *llm.ChatRequest, n int64) (*llm.ChatResponse, error) {
		if n == 2 {
			cancel()
		}
		return textResp("one", 1, 1), nil
	}}
	rep, err := Run(ctx, s, Options{Client: fc, Concurrency: 1})
	if !errors.Is(err, context.Canceled) || rep == nil {
		t.Fatalf("err = %v", err)
	}
	if n := fc.calls.Load(); n >= 6 {
		t.Errorf("%d calls after cancel", n)
	}
}

func BenchmarkExtractNumber(b *testing.B) {
	const text = "She sells these 9 eggs at the farmers' market for 9 * $2 = $<<9*2=18>>18.\nSo the answer is 18 dollars, from 16 - 3 - 4 = 9 eggs."
	b.ReportAllocs()
	for b.Loop() {
		ExtractNumber(text)
	}
}
