package gateway

import (
	"slices"
	"testing"
)

// TestScanMeta: the trace's answer metadata is found in the shapes
// upstreams send (compact and pretty-printed OpenAI, Anthropic, stream
// events), and a key inside a string value is not mistaken for one.
func TestScanMeta(t *testing.T) {
	tests := []struct {
		name, body string
		id, model  string
		finish     []string
	}{
		{"openai compact", `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"say \"model\":\"x\""},"finish_reason":"stop"},{"index":1,"finish_reason":"length"}]}`,
			"chatcmpl-1", "gpt-4o-2024-08-06", []string{"stop", "length"}},
		{"openai pretty", "{\n  \"id\": \"chatcmpl-2\",\n  \"model\": \"gpt-4o\",\n  \"choices\": [{\"finish_reason\": \"tool_calls\"}]\n}", "chatcmpl-2", "gpt-4o", []string{"tool_calls"}},
		{"anthropic", `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null}`, "msg_1", "claude-sonnet-4-5", []string{"end_turn"}},
		{"anthropic message_start", `{"type":"message_start","message":{"id":"msg_2","model":"claude-haiku","stop_reason":null}}`, "msg_2", "claude-haiku", nil},
		{"stream chunk without finish", `{"id":"c","model":"m","choices":[{"delta":{"content":"x"},"finish_reason":null}]}`, "c", "m", nil},
		{"not json", `garbage "id"`, "", "", nil},
		{"reason keys as string values", `{"id":"c","model":"m","choices":[{"message":{"content":"finish_reason"},"x":"stop_reason","finish_reason":"stop"}],"stop_reason":"end_turn"}`,
			"c", "m", []string{"stop", "end_turn"}},
	}
	for _, tt := range tests {
		id, model, finish := scanMeta([]byte(tt.body))
		if id != tt.id || model != tt.model || !slices.Equal(finish, tt.finish) {
			t.Errorf("%s: scanMeta = %q %q %q, want %q %q %q", tt.name, id, model, finish, tt.id, tt.model, tt.finish)
		}
	}
	for data, want := range map[string]string{
		`{"type":"message_delta","delta":{"stop_reason":"max_tokens"}}`:                                "max_tokens",
		`{"choices":[{"index":0,"finish_reason":null},{"index":1,"finish_reason":"length"}]}`:          "length",
		`{"choices":[{"delta":{"content":"the finish_reason is"},"finish_reason":null}],"usage":null}`: "",
	} {
		if got := rawFinish([]byte(data)); got != want {
			t.Errorf("rawFinish(%s) = %q, want %q", data, got, want)
		}
	}
}

func TestFormatUSD(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0", 1: "0.000000001", 105_000: "0.000105", 1_000_000_000: "1", 12_500_000_000: "12.5", -2_000_000: "-0.002",
	} {
		if got := formatUSD(n); got != want {
			t.Errorf("formatUSD(%d) = %q, want %q", n, got, want)
		}
	}
	// Every answer carries its cost: the string is the one allocation.
	if n := testing.AllocsPerRun(100, func() { formatUSD(105_000) }); n > 1 {
		t.Errorf("formatUSD allocates %.0f times, want 1", n)
	}
}
