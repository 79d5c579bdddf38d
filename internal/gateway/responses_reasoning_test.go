package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/bedrock"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

// TestStoredReasoningKeepsItsSignature: a Responses client that did not
// ask for reasoning.encrypted_content (the OpenAI Agents SDK's default)
// continues a tool call of a Claude model thinking through Bedrock. It
// gives the reasoning item back by id without encrypted_content, or
// continues by previous_response_id; either way Claude must get the
// thinking back signed, as OpenAI reads both from its store. Before,
// the signature was lost and Bedrock answered 400 ("a final assistant
// message must start with a thinking block"). Another key giving the same
// id gets nothing from the store.
func TestStoredReasoningKeepsItsSignature(t *testing.T) {
	f := fake.NewBedrock("eu-central-1")
	t.Cleanup(f.Close)
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pc := config.Provider{Name: "p-bedrock", Type: "bedrock", BaseURL: f.URL, Region: "eu", Retention: "none",
		AWS: &config.AWS{Region: "eu-central-1", AccessKeyID: fake.BedrockAccessKey, SecretAccessKey: fake.BedrockSecretKey}}
	pb, err := bedrock.New(pc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Providers: []config.Provider{{Name: "p-bedrock", Type: "bedrock"}},
		Models: []config.Model{{Name: "m-bedrock", Provider: "p-bedrock", Upstream: "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", Type: "chat"}}}
	r, err := router.New(cfg, map[string]provider.Provider{"p-bedrock": pb}, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gateway.New(gateway.Options{Router: r, Responses: db, Auth: keyAuth{}}))
	t.Cleanup(srv.Close)

	post := func(key, body string) (int, map[string]any) {
		t.Helper()
		status, b := postKey(t, srv.URL+"/v1/responses", key, body)
		if strings.Contains(body, `"stream":true`) {
			// The Response is the one response.completed carries.
			for line := range strings.Lines(string(b)) {
				if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, `"type":"response.completed"`) {
					b = []byte(data)
				}
			}
			var ev struct{ Response json.RawMessage }
			if json.Unmarshal(b, &ev) == nil && ev.Response != nil {
				b = ev.Response
			}
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%d %s", status, b)
		}
		return status, m
	}
	const tools = `"tools":[{"type":"function","name":"get_weather","description":"Weather of a place","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]},"strict":false}]`
	const user = `{"role":"user","content":"weather in Paris?"}`
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "first turn whole", true: "first turn streamed"}[stream], func(t *testing.T) {
			first := `{"model":"m-bedrock","input":[` + user + `],"reasoning":{"effort":"low"},` + tools + `}`
			if stream {
				first = strings.Replace(first, `{"model"`, `{"stream":true,"model"`, 1)
			}
			continueSigned(t, f, post, first, user, tools)
		})
	}
}

// continueSigned makes the first turn and continues it three ways.
func continueSigned(t *testing.T, f *fake.Bedrock, post func(key, body string) (int, map[string]any), firstBody, user, tools string) {
	status, first := post("sk-a", firstBody)
	out, _ := first["output"].([]any)
	if status != 200 || len(out) != 2 {
		t.Fatalf("first turn %d %v", status, first)
	}
	// The items as the Agents SDK gives them back: ids kept, no
	// encrypted_content (it was not asked for).
	rs, call := out[0].(map[string]any), out[1].(map[string]any)
	if rs["type"] != "reasoning" || call["type"] != "function_call" || rs["encrypted_content"] != nil {
		t.Fatalf("first turn output %v", out)
	}
	items, _ := json.Marshal([]any{rs, call, map[string]any{"type": "function_call_output", "call_id": call["call_id"], "output": "sunny, 21C"}})

	for _, tc := range []struct {
		name, key, body string
		signed          bool
	}{
		{"reasoning given back by id", "sk-a", `{"model":"m-bedrock","input":[` + user + `,` + string(items[1:len(items)-1]) + `],"reasoning":{"effort":"low"},` + tools + `}`, true},
		{"previous_response_id", "sk-a", `{"model":"m-bedrock","previous_response_id":"` + first["id"].(string) + `","input":[{"type":"function_call_output","call_id":"` + call["call_id"].(string) + `","output":"sunny, 21C"}],"reasoning":{"effort":"low"},` + tools + `}`, true},
		{"another key's reasoning id", "sk-b", `{"model":"m-bedrock","input":[` + user + `,` + string(items[1:len(items)-1]) + `],"reasoning":{"effort":"low"},` + tools + `}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got := post(tc.key, tc.body)
			log := f.Log.All()
			sent := log[len(log)-1].Body
			if !tc.signed {
				// Left as it came: the upstream's own refusal of unsigned
				// thinking, passed back.
				if status != 400 || bytes.Contains(sent, []byte(fake.BedrockSignature)) {
					t.Fatalf("status %d %v; upstream got %s", status, got, sent)
				}
				return
			}
			if status != 200 {
				t.Fatalf("status %d %v", status, got)
			}
			if !bytes.Contains(sent, []byte(`"signature":"`+fake.BedrockSignature+`"`)) {
				t.Errorf("Bedrock got no signed thinking: %s", sent)
			}
			text := ""
			for _, o := range got["output"].([]any) {
				if m := o.(map[string]any); m["type"] == "message" {
					text += m["content"].([]any)[0].(map[string]any)["text"].(string)
				}
			}
			if !strings.Contains(text, "Tool said: sunny, 21C") {
				t.Errorf("answer %q", text)
			}
		})
	}
}
