package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseExpandsEnvAndAppliesDefaults(t *testing.T) {
	src := `
server:
  shutdown_grace: 5s
providers:
  - name: oa
    type: openai
    api_key: ${OPENAI_API_KEY}
    timeouts: { first_byte: 2s }
  - name: box
    type: openai
    base_url: ${VLLM_URL:-http://127.0.0.1:8000/v1}
    hosting: self_hosted
  - name: local
    type: ollama
models:
  - { name: gpt-4o, provider: oa }
  - { name: llama, provider: box, upstream: meta-llama/Llama-3.1-8B-Instruct }
`
	c, err := Parse([]byte(src), env(map[string]string{"OPENAI_API_KEY": "sk-abc: #not-a-comment"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Providers[0].APIKey; got != "sk-abc: #not-a-comment" {
		t.Errorf("api_key = %q", got)
	}
	if got := c.Providers[1].BaseURL; got != "http://127.0.0.1:8000/v1" {
		t.Errorf("default expansion: base_url = %q", got)
	}
	if got := c.Providers[0].BaseURL; got != "https://api.openai.com/v1" {
		t.Errorf("default base_url = %q", got)
	}
	want := []string{Proprietary, SelfHosted, SelfHosted}
	var got []string
	for _, p := range c.Providers {
		got = append(got, p.Hosting)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hosting defaults (-want +got):\n%s", diff)
	}
	if c.Models[0].Upstream != "gpt-4o" || c.Models[1].Upstream != "meta-llama/Llama-3.1-8B-Instruct" {
		t.Errorf("upstream defaults: %+v", c.Models)
	}
	if c.Server.Listen != DefaultListen || c.Server.ShutdownGrace.D() != 5*time.Second || c.Server.MaxBodyBytes != 20<<20 {
		t.Errorf("server defaults: %+v", c.Server)
	}
	if c.Providers[0].Timeouts.FirstByte.D() != 2*time.Second {
		t.Errorf("timeouts: %+v", c.Providers[0].Timeouts)
	}
}

func TestValidateNamesFieldPaths(t *testing.T) {
	src := `
server: { listen: "0.0.0.0:8080" }
providers:
  - { name: a, type: openai, hosting: somewhere }
  - { name: a, type: banana }
  - { type: anthropic, base_url: "not a url" }
models:
  - { name: m, provider: nope }
  - { name: m, provider: a, type: image }
`
	_, err := Parse([]byte(src), env(nil))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want ValidationError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"server.listen:",
		"providers[0].hosting:",
		"providers[1].name: duplicate",
		"providers[1].type: unknown provider type \"banana\"",
		"providers[2].name: required",
		"providers[2].base_url:",
		"models[0].provider: unknown provider \"nope\"",
		"models[1].name: duplicate",
		"models[1].type:",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
}

func TestUnknownFieldAndMissingEnv(t *testing.T) {
	_, err := Parse([]byte("providers:\n  - {name: a, type: openai, api_key: \"${NOPE}\", bogus: 1}\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown field not reported: %v", err)
	}
	_, err = Parse([]byte("providers:\n  - {name: a, type: openai, api_key: \"${NOPE}\"}\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "${NOPE}") {
		t.Fatalf("unset variable not reported: %v", err)
	}
}

func TestMasterKeyAllowsPublicListen(t *testing.T) {
	_, err := Parse([]byte("server: {listen: \"0.0.0.0:8080\"}\n"), env(map[string]string{"FULCRUM_MASTER_KEY": "k"}))
	if err != nil {
		t.Fatalf("with a master key any address may be bound: %v", err)
	}
}

func TestDefaultsFromEnvironment(t *testing.T) {
	c := Defaults(env(map[string]string{
		"OPENAI_API_KEY":    "sk-1",
		"ANTHROPIC_API_KEY": "sk-ant-1",
		"OLLAMA_HOST":       "10.1.2.3",
	}))
	var names []string
	for _, p := range c.Providers {
		names = append(names, p.Name+"/"+p.Hosting)
	}
	if diff := cmp.Diff([]string{"openai/proprietary", "anthropic/proprietary", "ollama/self_hosted"}, names); diff != "" {
		t.Errorf("providers (-want +got):\n%s", diff)
	}
	if got := c.ProviderByName("ollama").BaseURL; got != "http://10.1.2.3:11434" {
		t.Errorf("ollama url = %q", got)
	}
	if errs := c.Validate(); len(errs) > 0 {
		t.Errorf("defaults do not validate: %v", errs)
	}
	if len(Defaults(env(nil)).Providers) != 0 {
		t.Error("no env: want no providers")
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true,
		"0.0.0.0:8080": false, ":8080": false, "10.0.0.1:80": false, "bad": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

func TestCloudProviderValidation(t *testing.T) {
	env := func(string) (string, bool) { return "", false }
	bad := map[string]string{
		"providers[0].aws.region":      `providers: [{name: b, type: bedrock}]`,
		"providers[0].vertex.project":  `providers: [{name: v, type: vertex, vertex: {location: europe-west4}}]`,
		"providers[0].vertex.location": `providers: [{name: v, type: vertex, vertex: {project: p}}]`,
		"providers[0].base_url":        `providers: [{name: a, type: azure_openai, api_key: k}]`,
		"exactly one of":               `providers: [{name: a, type: azure_openai, base_url: "https://x.openai.azure.com", api_key: k, azure: {token_env: T}}]`,
		// region is what the policy trusts: it may not contradict the endpoint.
		"the us geography":                        `providers: [{name: b, type: bedrock, region: eu, aws: {region: us-east-1}}]`,
		"any region (a global":                    `providers: [{name: v, type: vertex, region: eu, vertex: {project: p, location: global}}]`,
		"contradicts vertex.location us-central1": `providers: [{name: v, type: vertex, region: EU, vertex: {project: p, location: us-central1}}]`,
	}
	for want, y := range bad {
		_, err := Parse([]byte(y), env)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to name %q", y, err, want)
		}
	}
	for _, y := range []string{
		`providers: [{name: b, type: bedrock, region: eu, aws: {region: eu-central-1}}]`,
		`providers: [{name: b, type: bedrock, region: eu-central-1, aws: {region: eu-central-1}}]`,
		`providers: [{name: b, type: bedrock, region: de, aws: {region: eu-central-1}}]`, // not judged
		`providers: [{name: v, type: vertex, region: eu, vertex: {project: p, location: europe-west4}}]`,
		`providers: [{name: v, type: vertex, region: global, vertex: {project: p, location: global}}]`,
	} {
		if _, err := Parse([]byte(y), env); err != nil {
			t.Errorf("%s: %v", y, err)
		}
	}
	cfg, err := Parse([]byte(`providers: [{name: m, type: mistral, api_key: k}, {name: v, type: vertex, vertex: {project: p, location: europe-west4}}]`), env)
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Providers[0]; p.BaseURL != "https://api.mistral.ai/v1" || p.Region != "eu" {
		t.Errorf("mistral defaults: %q %q", p.BaseURL, p.Region)
	}
	if p := cfg.Providers[1]; p.BaseURL != "https://europe-west4-aiplatform.googleapis.com/v1" {
		t.Errorf("vertex base_url = %q", p.BaseURL)
	}
}

func TestReasoningSettings(t *testing.T) {
	ok := `
providers:
  - { name: q, type: openai, base_url: "http://gpu:8000/v1", reasoning: { request: chat_template_kwargs, think_tags: true } }
  - { name: d, type: openai, base_url: "http://gpu:8000/v1", reasoning: { replay: true } }
  - { name: o, type: ollama, base_url: "http://127.0.0.1:11434", reasoning: { request: none } }
`
	c, err := Parse([]byte(ok), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Providers[0].Reasoning; r == nil || r.Request != "chat_template_kwargs" || !r.ThinkTags {
		t.Errorf("reasoning %+v", r)
	}
	for _, bad := range []string{
		`{ name: g, type: gemini, api_key: k, reasoning: { think_tags: true } }`,
		`{ name: q, type: openai, base_url: "http://gpu:8000/v1", reasoning: { request: think } }`,
		`{ name: o, type: ollama, base_url: "http://127.0.0.1:11434", reasoning: { request: reasoning_effort } }`,
		`{ name: o, type: ollama, base_url: "http://127.0.0.1:11434", reasoning: { replay: true } }`,
	} {
		_, err := Parse([]byte("providers:\n  - "+bad+"\n"), env(nil))
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), "reasoning") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestTelemetryValidate(t *testing.T) {
	for _, tt := range []struct{ yaml, wantErr string }{
		{"telemetry: { otlp: { endpoint: \"http://collector:4318\" }, sample_ratio: 0.5 }", ""},
		{"telemetry: { otlp: { endpoint: \"collector:4318\" } }", "telemetry.otlp.endpoint"},
		{"telemetry: { sample_ratio: 2 }", "telemetry.sample_ratio"},
		{"telemetry: { otlp: { headers: { \"bad name\": x } } }", "telemetry.otlp.headers"},
	} {
		_, err := Parse([]byte(tt.yaml), func(string) (string, bool) { return "", false })
		if tt.wantErr == "" && err != nil {
			t.Errorf("%s: %v", tt.yaml, err)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: error %v, want one naming %s", tt.yaml, err, tt.wantErr)
		}
	}
}
