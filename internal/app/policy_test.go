package app

import (
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/policy"
)

const guardYAML = `
providers:
  - { name: box, type: ollama, hosting: self_hosted }
  - { name: cloud, type: openai, api_key: x, hosting: proprietary }
models:
  - { name: m-open, provider: cloud, upstream: gpt-4o, policy: open }
  - { name: m-strict, provider: cloud, upstream: gpt-4o, policy: strict }
  - { name: m-plain, provider: cloud, upstream: gpt-4o }
  - { name: emb, provider: cloud, upstream: text-embedding-3-small, type: embedding }
  - { name: emb-other, provider: box, upstream: nomic-embed-text, type: embedding }
  - { name: instruct, provider: cloud, upstream: gpt-3.5-turbo-instruct }
routes:
  - { name: r-mixed, targets: [m-open, m-strict] }
  - { name: r-open, targets: [m-open, m-plain] }
  - { name: r-own, policy: strict, targets: [m-open] }
policy:
  policies:
    - { name: default, on_sensitive: self_hosted_only }
    - { name: open, on_sensitive: allow }
    - { name: strict, on_sensitive: block }
    - { name: scrub, on_sensitive: redact }
`

// TestGuardStrictestPolicy: the strictest of the key's, the route's and
// the target models' policies applies; the default only when none is
// named.
func TestGuardStrictestPolicy(t *testing.T) {
	g, err := newGuard(parse(t, guardYAML))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"messages":[{"role":"user","content":"mail ann@example.com"}]}`)
	tests := []struct {
		model, key string
		want       policy.Action
		stored     []string
	}{
		{"m-open", "", policy.ActionAllow, nil},
		{"m-plain", "", policy.ActionSelfHostedOnly, nil}, // default
		{"r-mixed", "", policy.ActionBlock, nil},          // a target model's policy is stricter
		{"r-open", "", policy.ActionAllow, nil},           // m-plain names none: only open is named
		{"r-own", "", policy.ActionBlock, nil},            // the route's own policy
		{"m-open", "scrub", policy.ActionRedact, nil},     // the key's policy is stricter
		{"m-strict", "open", policy.ActionBlock, nil},     // a key cannot loosen a model's policy
		// A stored conversation's policies apply to its continuation.
		{"m-open", "", policy.ActionSelfHostedOnly, []string{"default"}},
		{"m-open", "open", policy.ActionBlock, []string{"strict", "open"}},
	}
	for _, tt := range tests {
		v, err := g.Evaluate(&gateway.PolicyInput{Body: body, Model: tt.model, Caller: &gateway.Caller{Policy: tt.key}, Policies: tt.stored})
		if err != nil {
			t.Fatal(err)
		}
		if v.Action != tt.want {
			t.Errorf("%s (key policy %q, stored %q): action %v, want %v", tt.model, tt.key, tt.stored, v.Action, tt.want)
		}
	}
}

// TestGuardEmbeddingTokens: token ids are decoded with the model's
// tokenizer when known and scanned; otherwise they are the tokens kind.
func TestGuardEmbeddingTokens(t *testing.T) {
	g, err := newGuard(parse(t, guardYAML))
	if err != nil {
		t.Fatal(err)
	}
	texts, ok := g.decodeTokens("emb", nil)
	if !ok || len(texts) != 0 {
		t.Fatalf("decodeTokens(emb, nil) = %v, %v", texts, ok)
	}
	ids, _, err := cl100k.Encode("mail ann@example.com please")
	if err != nil {
		t.Fatal(err)
	}
	toks := make([]int, len(ids))
	for i, id := range ids {
		toks[i] = int(id)
	}
	v, err := g.Evaluate(&gateway.PolicyInput{Body: []byte(`{"model":"emb","input":[[1]]}`), Model: "emb", Tokens: [][]int{toks}})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := v.Header(); c != "email" || v.Action != policy.ActionSelfHostedOnly {
		t.Errorf("known tokenizer: classes %q action %v, want email self_hosted_only", c, v.Action)
	}
	// A completions prompt of token ids for OpenAI's instruct model.
	v, err = g.Evaluate(&gateway.PolicyInput{Body: []byte(`{"model":"instruct","prompt":[1]}`), Model: "instruct", Tokens: [][]int{toks}})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := v.Header(); c != "email" || v.Action != policy.ActionSelfHostedOnly {
		t.Errorf("instruct model: classes %q action %v, want email self_hosted_only", c, v.Action)
	}
	v, err = g.Evaluate(&gateway.PolicyInput{Body: []byte(`{"model":"emb-other","input":[[1]]}`), Model: "emb-other", Tokens: [][]int{toks}})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := v.Header(); c != "tokens" || v.Action != policy.ActionSelfHostedOnly {
		t.Errorf("unknown tokenizer: classes %q action %v, want tokens self_hosted_only", c, v.Action)
	}
}
