package policy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/upstream"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func testEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func testConfig() config.Policy {
	return config.Policy{
		CustomDetectors: []config.CustomDetector{
			{Class: "employee_id", Pattern: `EMP-[0-9]{6}`},
			{Class: "project_codename", Keywords: []string{"bluebird"}},
		},
		Policies: []config.DataPolicy{
			{Name: "default", Classes: map[string]config.ClassRule{
				"secret":     {Action: config.ActionBlock},
				"ip_private": {Action: config.ActionAllow},
				"phi":        {Action: config.ActionSelfHostedOnly, Regions: []string{"eu"}},
			}},
			{Name: "redact", OnSensitive: config.ActionRedact, Classes: map[string]config.ClassRule{
				"ip_private": {Action: config.ActionAllow},
				"pci":        {Action: config.ActionAllow, Regions: []string{"eu"}, Retention: []string{"none"}},
			}},
			{Name: "eu", OnSensitive: config.ActionAllow, Require: config.Requirements{Regions: []string{"eu"}}},
			{Name: "emails-only", Detect: []string{"email"}},
		},
	}
}

func chat(texts ...string) *llm.ChatRequest {
	req := &llm.ChatRequest{Model: "m"}
	for _, t := range texts {
		req.Messages = append(req.Messages, llm.TextMessage(llm.RoleUser, t))
	}
	return req
}

func TestEvaluate(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		name     string
		req      *llm.ChatRequest
		declared []string
		policy   string
		want     []ClassCount
		action   Action
	}{
		{"nothing", chat("What is the capital of France? Version 1.2.3, order #123456."), nil, "", nil, ActionNone},
		{"email default", chat("mail a@example.com and b@example.com"), nil, "", []ClassCount{{"email", 2}}, ActionSelfHostedOnly},
		{"secret blocks", chat("a@example.com key AKIAIOSFODNN7EXAMPLE"), nil, "", []ClassCount{{"email", 1}, {"secret", 1}}, ActionBlock},
		{"private ip allowed", chat("ssh to 10.0.0.5"), nil, "", []ClassCount{{"ip_private", 1}}, ActionAllow},
		{"declared tightens", chat("ssh to 10.0.0.5"), []string{"phi"}, "", []ClassCount{{"ip_private", 1}, {"phi", 0}}, ActionSelfHostedOnly},
		{"declared redact becomes self-hosted", chat("hello"), []string{"pii"}, "redact", []ClassCount{{"pii", 0}}, ActionSelfHostedOnly},
		{"redact policy", chat("card 4111 1111 1111 1111"), nil, "redact", []ClassCount{{"payment_card", 1}}, ActionRedact},
		{"detect list", chat("a@example.com, 4111 1111 1111 1111"), nil, "emails-only", []ClassCount{{"email", 1}}, ActionSelfHostedOnly},
		{"custom", chat("badge EMP-123456 on bluebird"), nil, "", []ClassCount{{"employee_id", 1}, {"project_codename", 1}}, ActionSelfHostedOnly},
		{"unknown policy uses default", chat("a@example.com"), nil, "nope", []ClassCount{{"email", 1}}, ActionSelfHostedOnly},
		{"unicode escape in tool args", &llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c1", Name: "send", Arguments: `{"to":"jane\u0040example.com"}`}}}}}, nil, "", []ClassCount{{"email", 1}}, ActionSelfHostedOnly},
		{"split escapes in tool result", &llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleTool, ToolCallID: "c1", Content: []llm.Part{{Type: llm.PartText, Text: `{"card":"4111\u00201111\u00201111\u00201111"}`}}}}}, nil, "", []ClassCount{{"payment_card", 1}}, ActionSelfHostedOnly},
		{"system prompt", &llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleSystem, "Escalate to ops@example.com"), llm.TextMessage(llm.RoleUser, "hi")}}, nil, "", []ClassCount{{"email", 1}}, ActionSelfHostedOnly},
		{"images not scanned", &llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartImage, Image: &llm.Image{URL: "https://x.example/a@example.com.png"}}}}}}, nil, "", nil, ActionNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Evaluate(tt.req, tt.declared, tt.policy)
			if diff := cmp.Diff(tt.want, d.Classes, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("classes (-want +got):\n%s", diff)
			}
			if d.Action != tt.action {
				t.Errorf("action = %v, want %v", d.Action, tt.action)
			}
		})
	}
}

func TestPermits(t *testing.T) {
	e := testEngine(t)
	self := &upstream.Info{Name: "gpu", Hosting: upstream.SelfHosted, Region: "eu"}
	selfUS := &upstream.Info{Name: "gpu-us", Hosting: upstream.SelfHosted, Region: "us"}
	api := &upstream.Info{Name: "openai", Hosting: upstream.Proprietary, Region: "us", Retention: "30d"}
	apiEU := &upstream.Info{Name: "azure-eu", Hosting: upstream.Proprietary, Region: "EU", Retention: "none"}
	tests := []struct {
		name string
		d    *Decision
		want []bool // self, selfUS, api, apiEU
	}{
		{"none", e.Evaluate(chat("hello"), nil, ""), []bool{true, true, true, true}},
		{"self hosted only", e.Evaluate(chat("a@example.com"), nil, ""), []bool{true, true, false, false}},
		{"block", e.Evaluate(chat("AKIAIOSFODNN7EXAMPLE"), nil, ""), []bool{false, false, false, false}},
		{"phi eu self hosted", e.Evaluate(chat("hello"), []string{"phi"}, ""), []bool{true, false, false, false}},
		{"allow with region and retention", e.Evaluate(chat("hello"), []string{"pci"}, "redact"), []bool{false, false, false, true}},
		{"policy require", e.Evaluate(chat("a@example.com"), nil, "eu"), []bool{true, false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []bool
			for _, p := range []*upstream.Info{self, selfUS, api, apiEU} {
				got = append(got, tt.d.Permits(p))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Permits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorsAndHeaders(t *testing.T) {
	e := testEngine(t)
	const key = "AKIAIOSFODNN7EXAMPLE"
	d := e.Evaluate(chat("mail a@example.com key "+key), nil, "")
	err := d.Err()
	if err == nil || err.Status != http.StatusForbidden || err.Type != llm.ErrPolicy || err.Code != "blocked_by_policy" {
		t.Fatalf("Err() = %+v", err)
	}
	if !strings.Contains(err.Message, "secret") || strings.Contains(err.Message, key) || strings.Contains(err.Message, "a@example.com") {
		t.Errorf("Err message must name classes, not values: %q", err.Message)
	}
	classes, action := d.Header()
	if classes != "email,secret" || action != "block" {
		t.Errorf("Header() = %q, %q", classes, action)
	}

	d = e.Evaluate(chat("note for patient"), []string{"phi"}, "")
	if d.Err() != nil {
		t.Errorf("Err() = %v for a non-blocked request", d.Err())
	}
	nt := d.NoTargetErr()
	if nt.Status != http.StatusForbidden || nt.Code != "no_compliant_target" || !strings.Contains(nt.Message, "phi") ||
		!strings.Contains(nt.Message, "self-hosted") || !strings.Contains(nt.Message, "eu") {
		t.Errorf("NoTargetErr() = %+v", nt)
	}
	if c, a := e.Evaluate(chat("hi"), nil, "").Header(); c != "" || a != "none" {
		t.Errorf("clean Header() = %q, %q", c, a)
	}
}

func TestDisabledHonoursDeclared(t *testing.T) {
	e, err := New(config.Policy{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := e.Evaluate(chat("a@example.com"), nil, ""); d.Action != ActionNone {
		t.Errorf("disabled scan: action %v", d.Action)
	}
	if d := e.Evaluate(chat("x"), []string{"phi"}, ""); d.Action != ActionSelfHostedOnly {
		t.Errorf("declared with scanning disabled: action %v", d.Action)
	}
}

func TestNewErrors(t *testing.T) {
	for _, cfg := range []config.Policy{
		{Default: "missing", Policies: []config.DataPolicy{{Name: "a"}}},
		{Policies: []config.DataPolicy{{Name: "default", OnSensitive: "shred"}}},
		{Policies: []config.DataPolicy{{Name: "default", Detect: []string{"dna"}}}},
		{PhoneRegions: []string{"XX"}},
		{CustomDetectors: []config.CustomDetector{{Class: "x", Pattern: "("}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestParseDeclared(t *testing.T) {
	got := ParseDeclared(" PHI, pci,,phi, bad class ,x")
	if diff := cmp.Diff([]string{"phi", "pci", "x"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestEvaluateCleanAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	e := testEngine(t)
	req := chat(strings.Repeat("Please summarise the quarterly report and list three risks. ", 60))
	allocs := testing.AllocsPerRun(100, func() { e.Evaluate(req, nil, "") })
	if allocs > 1 {
		t.Errorf("Evaluate on a clean request allocates %v times, want at most 1 (the decision)", allocs)
	}
}

// TestRejudge: a verdict decided again with another model's policies (a
// shadow candidate's, a judge's) permits no more than before, and a
// stricter policy keeps the call home; a value the request redacted stays
// redactable, one it did not cannot be redacted now.
func TestRejudge(t *testing.T) {
	e := testEngine(t)
	api := &upstream.Info{Name: "openai", Hosting: upstream.Proprietary, Region: "eu"}
	body := []byte(`{"messages":[{"role":"user","content":"mail ann.leak@example.com"}]}`)
	eval := func(policies ...string) *Decision {
		d, err := e.EvaluateBody(Input{Body: body, Policies: policies})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, c := range []struct {
		name  string
		d     *Decision
		names []string
		want  Action
		api   bool
	}{
		{"redacted, candidate redacts too", eval("redact"), []string{"redact"}, ActionRedact, true},
		{"redacted, candidate keeps home", eval("redact"), []string{"default"}, ActionSelfHostedOnly, false},
		{"allowed, candidate redacts: too late to redact", eval("eu"), []string{"redact"}, ActionSelfHostedOnly, false},
		{"allowed, candidate allows", eval("eu"), []string{"eu"}, ActionAllow, true},
		{"no names: unchanged", eval("eu"), nil, ActionAllow, true},
		{"default verdict, open candidate", eval(), []string{"eu"}, ActionSelfHostedOnly, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.Rejudge(c.d, c.names)
			if r.Action != c.want || r.Clearance().Permits(api) != c.api || r.Redacts() {
				t.Errorf("action %v permits api %v redacts %v, want %v %v false", r.Action, r.Clearance().Permits(api), r.Redacts(), c.want, c.api)
			}
		})
	}
}

// TestEvaluateBodyCleanAllocs: the pass-through path's body scan of a
// clean request allocates the decision only (the visitor closure was
// another; the body walker and its escape buffer are pooled, and a
// number scanned behind its key, as "max_tokens: 64", and an escaped
// string's unescaped text are read in place: 6 allocations before).
func TestEvaluateBodyCleanAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	e := testEngine(t)
	body := []byte(`{"model":"m","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarise the quarterly report in three bullet points, please. \\n"}],"max_tokens":64,"temperature":0}`)
	allocs := testing.AllocsPerRun(100, func() {
		if d, err := e.EvaluateBody(Input{Body: body}); err != nil || len(d.Classes) != 0 {
			t.Fatal(d, err)
		}
	})
	if allocs > 1 {
		t.Errorf("EvaluateBody on a clean body allocates %v times, want at most 1", allocs)
	}
}
