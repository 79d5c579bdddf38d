package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// TestResponsesTruncationAuto: truncation "auto" (the OpenAI Agents
// SDK's modelSettings.truncation) on translated targets. A conversation
// that fits is answered as it is; one over the model's context window
// loses its oldest turns until the upstream takes it, as OpenAI does,
// keeping the instructions and the last turn, a tool call with its
// result; without truncation the upstream's context-length error is the
// client's. Before, "auto" was a 400 unsupported_parameter on every
// translated target, even for a conversation that fits.
func TestResponsesTruncationAuto(t *testing.T) {
	e, _ := newResponsesEnv(t)
	big := strings.Repeat("lorem ipsum ", fake.AnthropicContextWindow*4/12+1000) // over both fakes' windows
	history := func(n int) string {
		var items []string
		for i := range n {
			text := "old turn " + string(rune('a'+i))
			if i == 0 {
				text = big
			}
			items = append(items, `{"role":"user","content":`+quoteJSON(text)+`}`, `{"role":"assistant","content":"ok"}`)
		}
		return strings.Join(items, ",")
	}
	call := `{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{}"},{"type":"function_call_output","call_id":"call_1","output":"sunny"}`
	for _, tc := range []struct {
		name, model, input, truncation string
		status                         int
		want                           string
	}{
		{"fits", "m-anthropic", `[{"role":"user","content":"say pong [[plain]]"}]`, "auto", 200, "Hello! You said: say pong"},
		{"over, anthropic", "m-anthropic", "[" + history(3) + `,{"role":"user","content":"say pong [[plain]]"}]`, "auto", 200, "Hello! You said: say pong"},
		{"over, chat completions", "m-openai", "[" + history(5) + `,{"role":"user","content":"say pong [[plain]]"}]`, "auto", 200, "Hello! You said: say pong"},
		{"over, tool turn kept whole", "m-anthropic", "[" + history(2) + `,{"role":"user","content":"weather?"},` + call + "]", "auto", 200, "Tool said: sunny"},
		{"over, disabled", "m-anthropic", "[" + history(3) + `,{"role":"user","content":"say pong [[plain]]"}]`, "disabled", 400, "prompt is too long"},
		{"only the last turn, over", "m-anthropic", `[{"role":"user","content":` + quoteJSON(big) + `}]`, "auto", 400, "prompt is too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				body := `{"model":"` + tc.model + `","instructions":"Be brief.","truncation":"` + tc.truncation + `","stream":` +
					map[bool]string{false: "false", true: "true"}[stream] + `,"input":` + tc.input +
					`,"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{}},"strict":false}]}`
				resp, out := e.post(t, "/v1/responses", body)
				if resp.StatusCode != tc.status || !strings.Contains(out, tc.want) {
					t.Fatalf("stream %v: %d %.400s, want %d with %q", stream, resp.StatusCode, out, tc.status, tc.want)
				}
				if tc.status != 200 {
					continue
				}
				if !stream {
					var r struct{ Truncation string }
					_ = json.Unmarshal([]byte(out), &r)
					if r.Truncation != tc.truncation {
						t.Errorf("Response truncation %q, want %q", r.Truncation, tc.truncation)
					}
				}
				var sent []byte
				if tc.model == "m-openai" {
					log := e.oa.Log.All()
					sent = log[len(log)-1].Body
				} else {
					log := e.an.Log.All()
					sent = log[len(log)-1].Body
				}
				if !strings.Contains(string(sent), "Be brief.") {
					t.Errorf("the instructions were dropped: %.300s", sent)
				}
				if strings.Contains(tc.name, "tool") && (!strings.Contains(string(sent), "call_1") || !strings.Contains(string(sent), "weather?")) {
					t.Errorf("the last turn was cut: %.600s", sent)
				}
			}
		})
	}
}
