package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func TestResponseUsage(t *testing.T) {
	body := `{"id":"msg_1","type":"message","content":[{"type":"text","text":"hi"}],` +
		`"usage":{"input_tokens":100,"cache_creation_input_tokens":20,"cache_read_input_tokens":1000,"output_tokens":7}}`
	want := &llm.Usage{InputTokens: 1120, OutputTokens: 7, CacheReadTokens: 1000, CacheWriteTokens: 20}
	if diff := cmp.Diff(want, ResponseUsage([]byte(body))); diff != "" {
		t.Errorf("ResponseUsage (-want +got):\n%s", diff)
	}
	if u := ResponseUsage([]byte(`{"type":"error"}`)); u != nil {
		t.Errorf("ResponseUsage without usage = %+v, want nil", u)
	}
}

func TestUsageTap(t *testing.T) {
	tests := []struct {
		name   string
		events [][2]string
		want   *llm.Usage
	}{
		{"classic: output in delta", [][2]string{
			{"message_start", `{"type":"message_start","message":{"id":"m","usage":{"input_tokens":25,"cache_read_input_tokens":100,"output_tokens":1}}}`},
			{"content_block_delta", `not even JSON, skipped`},
			{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}`},
		}, &llm.Usage{InputTokens: 125, OutputTokens: 15, CacheReadTokens: 100}},
		{"delta repeats input counts", [][2]string{
			{"message_start", `{"type":"message_start","message":{"usage":{"input_tokens":0,"output_tokens":0}}}`},
			{"message_delta", `{"type":"message_delta","usage":{"input_tokens":30,"cache_creation_input_tokens":5,"cache_read_input_tokens":0,"output_tokens":9}}`},
		}, &llm.Usage{InputTokens: 35, OutputTokens: 9, CacheWriteTokens: 5}},
		{"nothing", [][2]string{{"ping", `{"type":"ping"}`}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tap UsageTap
			for _, ev := range tt.events {
				tap.Event(ev[0], []byte(ev[1]))
			}
			if diff := cmp.Diff(tt.want, tap.Usage()); diff != "" {
				t.Errorf("Usage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x1f\t\r\n", "ünï©ødé 日本", "bad\xffutf8", "\u2028\u2029", "<&>"} {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("appendString(%q) = %s: invalid JSON: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("appendString(%q) decodes to %q, encoding/json to %q", s, back, wantBack)
		}
	}
}
