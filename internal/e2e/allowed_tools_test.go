package e2e

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// TestAllowedToolsTranslated: tool_choice allowed_tools, as openai-node
// sends it on Chat Completions and on the Responses API, reaches a
// same-format upstream byte for byte, and a translated one (Claude) as
// what it means: only the allowed tools, with tool_choice "any" for
// "required". Before, every translated target refused it with a 400
// naming tool_choice.type.
func TestAllowedToolsTranslated(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	g := startGateway(t, hwConfig(oa, an))

	for _, c := range []struct{ name, path, body string }{
		{"chat", "/v1/chat/completions", `{"model":"MODEL","messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[` +
			`{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},` +
			`{"type":"function","function":{"name":"send_email","parameters":{"type":"object","properties":{"to":{"type":"string"}}}}}],` +
			`"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"get_weather"}}]}}}`},
		{"responses", "/v1/responses", `{"model":"MODEL","input":"Weather in Paris?","store":false,"tools":[` +
			`{"type":"function","name":"get_weather","strict":true,"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}},` +
			`{"type":"function","name":"send_email","strict":false,"parameters":{"type":"object","properties":{"to":{"type":"string"}}}},` +
			`{"type":"custom","name":"apply_patch","format":{"type":"grammar","syntax":"lark","definition":"start: /.+/"}}],` +
			`"tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"get_weather"}]}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			oa.Log.Reset()
			an.Log.Reset()
			body := strings.Replace(c.body, "MODEL", "gpt-5", 1)
			if status, out := hwPost(t, g, c.path, body); status != 200 {
				t.Fatalf("pass-through: %d %s", status, out)
			}
			if sent := oa.Log.All(); len(sent) != 1 || !bytes.Equal(sent[0].Body, []byte(body)) {
				t.Fatalf("pass-through did not forward the body unchanged: %q", sentBodies(sent))
			}

			oa.Log.Reset()
			an.Log.Reset()
			if status, out := hwPost(t, g, c.path, strings.Replace(c.body, "MODEL", "x-anthropic", 1)); status != 200 {
				t.Fatalf("translated: %d %s", status, out)
			}
			sent := an.Log.All()
			if len(sent) != 1 {
				t.Fatalf("translated: %d calls to Anthropic, want 1", len(sent))
			}
			var got struct {
				Tools []struct {
					Name string `json:"name"`
				} `json:"tools"`
				ToolChoice json.RawMessage `json:"tool_choice"`
			}
			if err := json.Unmarshal(sent[0].Body, &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Tools) != 1 || got.Tools[0].Name != "get_weather" || string(got.ToolChoice) != `{"type":"any"}` {
				t.Errorf("translated: Anthropic was sent %s", sent[0].Body)
			}
		})
	}
}
