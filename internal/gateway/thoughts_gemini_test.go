package gateway_test

import (
	"bytes"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/provider/gemini"
	"github.com/fulcrumhq/fulcrum/internal/router"
)

// geminiCallID is the shape of the tool call ids the Gemini adapter gives
// the calls Gemini sends without one.
var geminiCallID = regexp.MustCompile(`call_[0-9a-f]{24}`)

// TestGeminiSignaturesKeptPerKey: a client (Chat Completions, Messages
// or Responses, streaming or not) gets a function call from Gemini 3 on
// replica a and sends the result to replica b. Before, the signature
// lived in the Gemini adapter's per-process cache, keyed by tool call id
// alone: replica b sent the placeholder, and any key that named the id
// got another key's signature. Now the gateway keeps it with the
// thinking, per key and shared between replicas: replica b sends the real
// one (the fake checks it is the one it issued), the policy scans it,
// another key sending the same tool call id gets the placeholder (and
// the miss is counted), no client sees it in its answer, and a turn sent
// to another provider does not carry it.
func TestGeminiSignaturesKeptPerKey(t *testing.T) {
	gf, an, shared, guard, replica := geminiFleet(t)
	metricsB := gateway.NewMetrics()
	a, b := replica(nil), replica(metricsB)
	placeholders := func() float64 {
		mfs, err := metricsB.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "fulcrum_gemini_signature_placeholders_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return 0
	}
	const (
		oaTools = `"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a place","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]`
		anTools = `"tools":[{"name":"get_weather","description":"Weather of a place","input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}]`
		rsTools = `"tools":[{"type":"function","name":"get_weather","description":"Weather of a place","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}]`
	)
	type format struct {
		name, path    string
		first, second func(model string, stream bool, id string) string
	}
	streamField := func(stream bool) string { return map[bool]string{false: "false", true: "true"}[stream] }
	formats := []format{
		{"chat completions", "/v1/chat/completions",
			func(model string, stream bool, _ string) string {
				return `{"model":"` + model + `","stream":` + streamField(stream) + `,"messages":[{"role":"user","content":"weather in Paris?"}],` + oaTools + `}`
			},
			func(model string, stream bool, id string) string {
				return `{"model":"` + model + `","stream":` + streamField(stream) + `,"messages":[{"role":"user","content":"weather in Paris?"}` +
					`,{"role":"assistant","content":null,"tool_calls":[{"id":"` + id + `","type":"function","function":{"name":"get_weather","arguments":` + quoteJSON(fake.ToolArgs) + `}}]}` +
					`,{"role":"tool","tool_call_id":"` + id + `","content":"sunny, 21C"}],` + oaTools + `}`
			}},
		{"messages", "/v1/messages",
			func(model string, stream bool, _ string) string {
				return `{"model":"` + model + `","max_tokens":256,"stream":` + streamField(stream) + `,"messages":[{"role":"user","content":"weather in Paris?"}],` + anTools + `}`
			},
			func(model string, stream bool, id string) string {
				return `{"model":"` + model + `","max_tokens":256,"stream":` + streamField(stream) + `,"messages":[{"role":"user","content":"weather in Paris?"}` +
					`,{"role":"assistant","content":[{"type":"tool_use","id":"` + id + `","name":"get_weather","input":` + fake.ToolArgs + `}]}` +
					`,{"role":"user","content":[{"type":"tool_result","tool_use_id":"` + id + `","content":"sunny, 21C"}]}],` + anTools + `}`
			}},
		{"responses", "/v1/responses",
			func(model string, stream bool, _ string) string {
				return `{"model":"` + model + `","store":false,"stream":` + streamField(stream) + `,"input":"weather in Paris?",` + rsTools + `}`
			},
			func(model string, stream bool, id string) string {
				return `{"model":"` + model + `","store":false,"stream":` + streamField(stream) + `,"input":[{"role":"user","content":"weather in Paris?"}` +
					`,{"type":"function_call","call_id":"` + id + `","name":"get_weather","arguments":` + quoteJSON(fake.ToolArgs) + `}` +
					`,{"type":"function_call_output","call_id":"` + id + `","output":"sunny, 21C"}],` + rsTools + `}`
			}},
	}
	var sigs []string
	for _, f := range formats {
		for _, stream := range []bool{false, true} {
			t.Run(f.name+map[bool]string{false: "", true: " stream"}[stream], func(t *testing.T) {
				status, first := postKey(t, a+f.path, "sk-a", f.first("m-gemini", stream, ""))
				id := geminiCallID.FindString(string(first))
				if status != 200 || id == "" {
					t.Fatalf("first turn on replica a: %d %s", status, first)
				}

				// Key a on replica b: the real signature, scanned.
				status, out := postKey(t, b+f.path, "sk-a", f.second("m-gemini", stream, id))
				got := gf.Got()
				if status != 200 || !bytes.Contains(out, []byte("Tool said: sunny, 21C")) {
					t.Fatalf("tool-result turn on replica b: %d %s", status, out)
				}
				sig := got[len(got)-1]
				if !gf.Issued(sig) {
					t.Fatalf("replica b sent %q, not the signature Gemini issued", sig)
				}
				sigs = append(sigs, sig)
				if bytes.Contains(first, []byte(sig)) {
					t.Errorf("the client's answer shows Gemini's signature: %s", first)
				}
				guard.mu.Lock()
				fwd := guard.forwarded[len(guard.forwarded)-1]
				guard.mu.Unlock()
				if !slices.Contains(fwd, sig) {
					t.Errorf("policy scanned %q beside the body on replica b, want the restored signature", fwd)
				}

				// Key b naming the same tool call: the placeholder, counted.
				before := placeholders()
				status, out = postKey(t, b+f.path, "sk-b", f.second("m-gemini", stream, id))
				got = gf.Got()
				if status != 200 || got[len(got)-1] != fake.GeminiPlaceholder {
					t.Errorf("another key with the same tool call id: %d %s, Gemini got %q; want the placeholder", status, out, got[len(got)-1])
				}
				if n := placeholders(); n != before+1 {
					t.Errorf("placeholders counted %v, want %v", n, before+1)
				}

				// Key a sending the turn to Claude: no Gemini signature.
				status, out = postKey(t, b+f.path, "sk-a", f.second("m-anthropic", stream, id))
				log := an.Log.All()
				if status != 200 || bytes.Contains(log[len(log)-1].Body, []byte(sig)) {
					t.Errorf("the turn sent to Anthropic: %d %s; Anthropic got %s", status, out, log[len(log)-1].Body)
				}
			})
		}
	}

	// What the shared store holds is sealed: no signature in the clear.
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if len(shared.m) != len(sigs) {
		t.Errorf("the shared store holds %d entries, want one per answer (%d)", len(shared.m), len(sigs))
	}
	for _, v := range shared.m {
		for _, sig := range sigs {
			if bytes.Contains(v, []byte(sig)) || strings.Contains(string(v), "call_") {
				t.Errorf("the shared store holds a signature or tool call id in the clear: %q", v)
			}
		}
	}
}

// geminiFleet starts a strict Gemini 3 fake and an Anthropic fake, and
// returns replica, which starts a gateway (a replica: providers of its
// own, as separate processes have) sharing one thought store with the
// others.
func geminiFleet(t *testing.T) (*fake.GeminiSigned, *fake.Anthropic, *memThoughts, *recordingGuard, func(*gateway.Metrics) string) {
	t.Helper()
	gf := fake.NewGeminiSigned()
	t.Cleanup(gf.Close)
	an := fake.NewAnthropic()
	t.Cleanup(an.Close)
	cfg := &config.Config{Providers: []config.Provider{{Name: "p-gemini", Type: "gemini"}, {Name: "p-anthropic", Type: "anthropic"}},
		Models: []config.Model{{Name: "m-gemini", Provider: "p-gemini", Upstream: "gemini-3-pro-preview", Type: "chat"},
			{Name: "m-anthropic", Provider: "p-anthropic", Upstream: "claude-sonnet-4-5", Type: "chat"}}}
	eng, err := policy.New(config.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	guard := &recordingGuard{e: eng}
	shared := &memThoughts{m: map[string][]byte{}, ttl: map[string]time.Duration{}}
	replica := func(m *gateway.Metrics) string {
		pg, err := gemini.New(config.Provider{Name: "p-gemini", Type: "gemini", BaseURL: gf.URL, APIKey: fake.APIKey})
		if err != nil {
			t.Fatal(err)
		}
		pa, err := anthropic.New(config.Provider{Name: "p-anthropic", Type: "anthropic", BaseURL: an.URL, APIKey: fake.APIKey})
		if err != nil {
			t.Fatal(err)
		}
		r, err := router.New(cfg, map[string]provider.Provider{"p-gemini": pg, "p-anthropic": pa}, router.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(gateway.New(gateway.Options{Router: r, Auth: keyAuth{}, MasterKey: "mk-fleet", Thoughts: shared, Guard: guard, Metrics: m}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	return gf, an, shared, guard, replica
}

// TestGeminiRunSignaturesFromTheSharedStore: Gemini 3 validates the
// signature of every step of the current turn, not only the last. A
// two-step tool run whose steps three replicas answered: a makes the
// first call, b (given its result) the second, and c gets both results.
// c holds neither step's signature; before, it read only the final
// step's from the shared store and sent the placeholder for the first.
func TestGeminiRunSignaturesFromTheSharedStore(t *testing.T) {
	gf, _, _, _, replica := geminiFleet(t)
	a, b, c := replica(nil), replica(nil), replica(nil)
	const tools = `"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a place","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]`
	step := func(id, result string) string {
		return `,{"role":"assistant","content":null,"tool_calls":[{"id":"` + id + `","type":"function","function":{"name":"get_weather","arguments":` + quoteJSON(fake.ToolArgs) + `}}]}` +
			`,{"role":"tool","tool_call_id":"` + id + `","content":"` + result + `"}`
	}
	body := func(steps string) string {
		return `{"model":"m-gemini","messages":[{"role":"user","content":"weather in Paris?"}` + steps + `],` + tools + `}`
	}
	post := func(url, body string) string {
		t.Helper()
		status, out := postKey(t, url+"/v1/chat/completions", "sk-a", body)
		if status != 200 {
			t.Fatalf("%d %s", status, out)
		}
		return string(out)
	}
	id1 := geminiCallID.FindString(post(a, body("")))
	id2 := geminiCallID.FindString(post(b, body(step(id1, "rain [[again]]"))))
	if id1 == "" || id2 == "" || id1 == id2 {
		t.Fatalf("tool call ids %q, %q", id1, id2)
	}
	if out := post(c, body(step(id1, "rain [[again]]")+step(id2, "sunny, 21C"))); !strings.Contains(out, "Tool said: sunny, 21C") {
		t.Fatalf("final step on replica c: %s", out)
	}
	run := gf.GotRun()
	if len(run) != 2 || !gf.Issued(run[0]) || !gf.Issued(run[1]) || run[0] == run[1] {
		t.Errorf("replica c sent the run's signatures %q, want the two Gemini issued", run)
	}
}

// TestClaudeToolTurnsSkipSharedStore: a Messages client (Claude Code)
// carries its own thinking, so the shared store can hold only Gemini's
// call signatures for it. Before, every tool-result turn a replica did
// not hold in memory cost a read of the shared store (Redis), Claude's
// "toolu_" calls included, though none can have a signature. Now those
// turns make no read; a Gemini call's turn still makes one and gets its
// signature.
func TestClaudeToolTurnsSkipSharedStore(t *testing.T) {
	gf, _, shared, _, replica := geminiFleet(t)
	a, b := replica(nil), replica(nil)
	const tools = `"tools":[{"name":"get_weather","description":"Weather of a place","input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}]`
	first := func(model string) string {
		return `{"model":"` + model + `","max_tokens":256,"messages":[{"role":"user","content":"weather in Paris?"}],` + tools + `}`
	}
	second := func(model, id string) string {
		return `{"model":"` + model + `","max_tokens":256,"messages":[{"role":"user","content":"weather in Paris?"}` +
			`,{"role":"assistant","content":[{"type":"tool_use","id":"` + id + `","name":"get_weather","input":` + fake.ToolArgs + `}]}` +
			`,{"role":"user","content":[{"type":"tool_result","tool_use_id":"` + id + `","content":"sunny, 21C"}]}],` + tools + `}`
	}
	gets := func() int {
		shared.mu.Lock()
		defer shared.mu.Unlock()
		return shared.gets
	}
	toolUse := regexp.MustCompile(`"id":"((?:toolu|call)_[^"]+)"`)
	for _, tc := range []struct {
		model, prefix string
		reads         int
	}{{"m-anthropic", "toolu_", 0}, {"m-gemini", "call_", 1}} {
		status, out := postKey(t, a+"/v1/messages", "sk-a", first(tc.model))
		m := toolUse.FindSubmatch(out)
		if status != 200 || m == nil || !strings.HasPrefix(string(m[1]), tc.prefix) {
			t.Fatalf("%s: first turn on replica a: %d %s", tc.model, status, out)
		}
		before := gets()
		status, out = postKey(t, b+"/v1/messages", "sk-a", second(tc.model, string(m[1])))
		if status != 200 || !bytes.Contains(out, []byte("Tool said: sunny, 21C")) {
			t.Fatalf("%s: tool-result turn on replica b: %d %s", tc.model, status, out)
		}
		if n := gets() - before; n != tc.reads {
			t.Errorf("%s: the tool-result turn read the shared store %d times, want %d", tc.model, n, tc.reads)
		}
	}
	if got := gf.Got(); !gf.Issued(got[len(got)-1]) {
		t.Errorf("the Gemini turn on replica b sent %q, not the signature Gemini issued", got[len(got)-1])
	}
}
