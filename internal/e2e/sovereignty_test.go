package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/jsonscan"
	"golang.org/x/text/unicode/norm"
)

// The adversarial suite for issue #10: every field of the OpenAI chat and
// Anthropic Messages request schemas (field lists from the API references:
// platform.openai.com/docs/api-reference/chat/create and
// docs.anthropic.com/en/api/messages) carries a sensitive value in turn,
// through both ingress formats, streaming and not, to a proprietary-only
// model (refused), a route with a self-hosted target (served there), a
// redacting model, and a cascade with a proprietary judge. Whatever the
// answer, the proprietary fakes must never receive the value in any
// spelling.

// openaiFields are chat-completion bodies with V where a value goes (V is
// replaced by a JSON string literal holding it). S is "true" or "false".
var openaiFields = []string{
	`{"model":M,"stream":S,"messages":[{"role":"user","content":V}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"system","content":V},{"role":"user","content":"hi"}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"developer","content":V},{"role":"user","content":"hi"}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":[{"type":"text","text":V}]}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","name":V,"content":"hi"}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":V},{"role":"user","content":"ok"}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":V}}]},{"role":"tool","tool_call_id":"call_1","content":"done"}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":V,"type":"function","function":{"name":"lookup","arguments":"{}"}}]},{"role":"tool","tool_call_id":V,"content":"done"}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":V}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"}],"user":V}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"}],"metadata":{"customer":V}}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"}],"stop":[V]}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"}],"stop":V}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"lookup","description":V,"parameters":{"type":"object","properties":{}}}}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"to":{"type":"string","description":V}}}}}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object","description":V}}}}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"}],"prediction":{"type":"content","content":V}}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"}],"x_unknown_field":{"deep":[V]}}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":[{"type":"text","text":"hi","x_extra":V}]}]}`,
	`{"model":M,"stream":S,"messages":[{"role":"user","content":"hi"}],"safety_identifier":V,"prompt_cache_key":V}`,
}

// anthropicFields are Messages bodies, as above.
var anthropicFields = []string{
	`{"model":M,"max_tokens":50,"stream":S,"messages":[{"role":"user","content":V}]}`,
	`{"model":M,"max_tokens":50,"stream":S,"system":V,"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":M,"max_tokens":50,"stream":S,"system":[{"type":"text","text":V}],"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":M,"max_tokens":50,"stream":S,"messages":[{"role":"user","content":[{"type":"text","text":V}]}]}`,
	`{"model":M,"max_tokens":50,"stream":S,"messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":V}}`,
	`{"model":M,"max_tokens":50,"stream":S,"messages":[{"role":"user","content":"hi"}],"stop_sequences":[V]}`,
	`{"model":M,"max_tokens":50,"stream":S,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"lookup","description":V,"input_schema":{"type":"object"}}]}`,
	`{"model":M,"max_tokens":50,"stream":S,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":V}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}]}`,
	`{"model":M,"max_tokens":50,"stream":S,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"lookup","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":V}]}]}`,
	`{"model":M,"max_tokens":50,"stream":S,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":V}},{"type":"text","text":"summarise"}]}]}`,
	`{"model":M,"max_tokens":50,"stream":S,"messages":[{"role":"user","content":[{"type":"search_result","source":"https://example.com/kb","title":"kb","content":[{"type":"text","text":V}]},{"type":"text","text":"answer"}]}]}`,
	`{"model":M,"max_tokens":50,"stream":S,"messages":[{"role":"user","content":[{"type":"text","text":"hi","x_extra":V}]}]}`,
	`{"model":M,"max_tokens":50,"stream":S,"messages":[{"role":"user","content":"hi"}],"x_unknown_field":V}`,
}

// completionsFields are legacy completions bodies
// (platform.openai.com/docs/api-reference/completions/create), as above.
var completionsFields = []string{
	`{"model":M,"stream":S,"prompt":V}`,
	`{"model":M,"stream":S,"prompt":[V]}`,
	`{"model":M,"stream":S,"prompt":"def f():","suffix":V}`,
	`{"model":M,"stream":S,"prompt":"hi","stop":V}`,
	`{"model":M,"stream":S,"prompt":"hi","stop":["x",V]}`,
	`{"model":M,"stream":S,"prompt":"hi","user":V}`,
	`{"model":M,"stream":S,"prompt":"hi","x_unknown_field":{"deep":[V]}}`,
}

// adversarialValues are sensitive values in plain and obfuscated spellings.
var adversarialValues = []string{
	"ann.leak@example.com",
	"ann.leak＠example.com",                 // full-width at sign
	"ann\u200b.leak@exam\u00adple.com",     // zero-width space, soft hyphen
	"call +44\u00a020\u00a07946\u00a00958", // NBSP
	"4111/1111/1111/1111",
	"4111_1111_1111_1111",
	"IBAN DE89-3704-0044-0532-0130-00",
	"SSN 078-05-1120",
	"616e6e2e6c65616b406578616d706c652e636f6d",                         // hex of ann.leak@example.com
	"four one one one one one one one one one one one one one one one", // spelled card
	"аnn.leak@exаmple.cоm",                                             // Cyrillic а and о
}

// canon reduces text to lower-case letters, digits and '@' after NFKC, so
// a value is found whatever separators or look-alikes spell it.
func canon(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '@' || unicode.IsDigit(r):
			b.WriteRune(r)
		case unicode.IsLetter(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// core is the part of a value that must never leave.
func core(v string) string {
	for _, p := range []string{"call ", "IBAN ", "SSN "} {
		v = strings.TrimPrefix(v, p)
	}
	return canon(v)
}

// sovereigntyConfig is leakConfig with a cascade route whose judge is a
// proprietary model.
func sovereigntyConfig(u *upstreams, local *fake.OpenAI) string {
	return strings.Replace(leakConfig(u, local), "routes:\n",
		"routes:\n  - { name: r-judged, strategy: cascade, targets: [m-redact, m-redact-anthropic], cascade: { judge: { model: m-prop, min_score: 7 } } }\n", 1)
}

func TestAdversarialFieldsNeverReachProprietary(t *testing.T) {
	u := startUpstreams(t)
	local := fake.NewOpenAI()
	t.Cleanup(local.Close)
	g := startGateway(t, sovereigntyConfig(u, local), "FULCRUM_MASTER_KEY="+masterKey)

	openaiModels := []string{"m-prop", "r-ok", "m-redact", "m-redact-anthropic", "r-judged"}
	anthropicModels := []string{"m-prop-anthropic", "r-ok", "m-redact-anthropic", "m-redact"}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	var mu sync.Mutex
	statuses := map[int]int{}
	n := 0
	run := func(path string, tmpls, models []string) {
		for _, tmpl := range tmpls {
			for _, v := range adversarialValues {
				for _, m := range models {
					for _, stream := range []string{"false", "true"} {
						body := strings.NewReplacer("M", jsonString(m), "S", stream, "V", jsonString(v)).Replace(tmpl)
						n++
						wg.Add(1)
						sem <- struct{}{}
						go func() {
							defer wg.Done()
							defer func() { <-sem }()
							resp, out := post(t, g, path, body)
							mu.Lock()
							statuses[resp.StatusCode]++
							mu.Unlock()
							if resp.StatusCode >= 500 && resp.StatusCode != 503 {
								t.Errorf("%s %s: %d %.300s", path, body, resp.StatusCode, out)
							}
						}()
					}
				}
			}
		}
	}
	run("/v1/chat/completions", openaiFields, openaiModels)
	run("/v1/messages", anthropicFields, anthropicModels)
	run("/v1/completions", completionsFields, openaiModels)
	wg.Wait()
	t.Logf("%d requests, statuses %v", n, statuses)
	if statuses[200] == 0 || statuses[403] == 0 {
		t.Errorf("want both served (200) and refused (403) requests, got %v", statuses)
	}
	judged := 0
	for _, r := range u.openai.Log.All() {
		if strings.Contains(string(r.Body), "You are grading") {
			judged++
		}
	}
	if judged == 0 {
		t.Error("the proprietary judge was never called: judge path untested")
	}
	t.Logf("%d judge calls", judged)
	assertNoValueReached(t, u, adversarialValues)
}

// TestAmbiguousJSONRefused: what two JSON readers could read differently
// is refused with a 400 in the client's format, and nothing is forwarded.
func TestAmbiguousJSONRefused(t *testing.T) {
	u := startUpstreams(t)
	local := fake.NewOpenAI()
	t.Cleanup(local.Close)
	g := startGateway(t, leakConfig(u, local), "FULCRUM_MASTER_KEY="+masterKey)
	bodies := []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"m-prop","messages":[{"role":"user","content":"mail ann.leak@example.com","Content":"hi"}]}`},
		{"/v1/chat/completions", `{"model":"m-prop","messages":[{"role":"user","content":"hi","content":"mail ann.leak@example.com"}]}`},
		{"/v1/chat/completions", `{"model":"m-prop","messages":[{"role":"user","content":"ann.leak\u0040example.com \q"}]}`},
		{"/v1/chat/completions", `{"model":"m-prop","messages":[{"role":"user","content":"\ud800 ann.leak@example.com"}]}`},
		{"/v1/chat/completions", `{"model":"m-prop","MODEL":"m-local","messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/messages", `{"model":"m-prop-anthropic","max_tokens":10,"messages":[{"role":"user","content":"hi","Content":"ann.leak@example.com"}]}`},
		{"/v1/messages", `{"model":"m-prop-anthropic","max_tokens":10,"messages":[{"role":"user","content":"ann.leak\u0040example.com \q"}]}`},
	}
	before := len(u.openai.Log.All()) + len(u.anthropic.Log.All())
	for _, b := range bodies {
		resp, out := post(t, g, b.path, b.body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(out), "invalid_request_error") {
			t.Errorf("%s: %d %.300s, want 400 invalid_request_error", b.body, resp.StatusCode, out)
		}
	}
	if after := len(u.openai.Log.All()) + len(u.anthropic.Log.All()); after != before {
		t.Errorf("%d ambiguous requests reached a proprietary upstream", after-before)
	}
	// Tool arguments are JSON in a string: an invalid escape in them does
	// not stop "\u0040" from being read, so the e-mail keeps the request
	// home (403 for a proprietary-only model).
	resp, out := post(t, g, "/v1/chat/completions", `{"model":"m-prop","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"email\":\"ann.leak\\u0040example.com \\q\"}"}}]}]}`)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(out), "email") {
		t.Errorf("nested invalid escape: %d %.300s, want 403 naming email", resp.StatusCode, out)
	}
	if after := len(u.openai.Log.All()) + len(u.anthropic.Log.All()); after != before {
		t.Errorf("the nested-escape request reached a proprietary upstream")
	}
	// A declared-class header beyond the bound is refused too.
	var classes []string
	for i := range 40 {
		classes = append(classes, fmt.Sprintf("c%d", i))
	}
	resp, _ = post(t, g, "/v1/chat/completions", `{"model":"m-local","messages":[{"role":"user","content":"hi"}]}`,
		"X-Fulcrum-Data-Class", strings.Join(classes, ","))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("41 declared classes: %d, want 400", resp.StatusCode)
	}
}

// assertNoValueReached checks every string of every body the proprietary
// fakes received, decoded and reduced with canon.
func assertNoValueReached(t *testing.T, u *upstreams, values []string) {
	t.Helper()
	reqs := append(u.openai.Log.All(), u.anthropic.Log.All()...)
	if len(reqs) == 0 {
		t.Fatal("proprietary fakes received nothing: redaction and judge paths untested")
	}
	for _, r := range reqs {
		var texts []string
		if err := jsonscan.WalkAll(r.Body, func(s *jsonscan.String) { texts = append(texts, canon(s.Text)) }); err != nil {
			t.Errorf("proprietary upstream got invalid JSON: %v", err)
		}
		all := strings.Join(texts, "|") + "|" + canon(string(r.Body))
		for _, v := range values {
			if c := core(v); strings.Contains(all, c) {
				t.Errorf("proprietary upstream %s received %q: %.400s", r.Path, v, r.Body)
			}
		}
	}
	t.Logf("%d proprietary requests checked", len(reqs))
}
