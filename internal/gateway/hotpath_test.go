package gateway

import (
	"strconv"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/sse"
)

func TestAppendDelivered(t *testing.T) {
	cases := []struct {
		format, event, data, want string
	}{
		{"openai", "", `{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel\"lo"},"finish_reason":null}]}`, `Hel\"lo`},
		{"openai", "", `{"choices":[{"delta":{"reasoning_content":"think","content":"a"}}]}`, `thinka`},
		{"openai", "", `{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get","arguments":"{\"q\":\"x\"}"}}]}}]}`, `{\"q\":\"x\"}`},
		{"openai", "", `{"choices":[{"delta":{"content":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":3}}`, ``},
		{"openai", "", `{"choices":[{"delta":{"content":"\\"}}]}`, `\\`},
		{"openai", "", `{"choices":[{"delta":{"content":"cut`, `cut`},
		{"anthropic", "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`, `Hi`},
		{"anthropic", "content_block_delta", `{"delta":{"type":"input_json_delta","partial_json":"{\"a\":1"}}`, `{\"a\":1`},
		{"anthropic", "message_start", `{"message":{"content":[],"text":"no"}}`, ``},
		{"responses", "response.output_text.delta", `{"type":"response.output_text.delta","delta":"yes"}`, `yes`},
		{"responses", "response.completed", `{"delta":"no"}`, ``},
		{"gemini", "", `{"content":"no"}`, ``},
	}
	for _, c := range cases {
		got := appendDelivered([]byte("<"), c.format, &sse.Event{Event: c.event, Data: []byte(c.data)})
		if string(got) != "<"+c.want {
			t.Errorf("%s %s %s: got %q, want %q", c.format, c.event, c.data, got[1:], c.want)
		}
	}
}

// BenchmarkAppendDelivered is one OpenAI content chunk, as every streamed
// pass-through event pays it.
func BenchmarkAppendDelivered(b *testing.B) {
	ev := &sse.Event{Data: []byte(`{"id":"chatcmpl-0123456789","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":null}]}`)}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendDelivered(buf[:0], "openai", ev)
	}
}

func TestStatusLabel(t *testing.T) {
	for s := 100; s < 600; s++ {
		if got, want := statusLabel(s), strconv.Itoa(s); got != want {
			t.Fatalf("statusLabel(%d) = %q, want %q", s, got, want)
		}
	}
}
