package openai

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func TestSetIncludeUsage(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"absent", `{"model":"m","stream":true}`, `{"stream_options":{"include_usage":true},"model":"m","stream":true}`},
		{"empty body object", `{}`, `{"stream_options":{"include_usage":true}}`},
		{"false", `{"stream":true,"stream_options":{"include_usage":false}}`, `{"stream":true,"stream_options":{"include_usage":true}}`},
		{"already", `{"stream_options":{"include_usage":true}}`, `{"stream_options":{"include_usage":true}}`},
		{"other option", `{"stream_options":{"include_obfuscation":false}}`, `{"stream_options":{"include_usage":true,"include_obfuscation":false}}`},
		{"empty options", `{"stream_options":{ }}`, `{"stream_options":{"include_usage":true }}`},
		{"null", `{"stream_options":null,"x":1}`, `{"stream_options":{"include_usage":true},"x":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SetIncludeUsage([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			req, err := DecodeChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,` + string(got[1:])))
			if err != nil || !req.IncludeUsage {
				t.Errorf("decoded IncludeUsage = false, err %v", err)
			}
		})
	}
}

func TestResponseUsage(t *testing.T) {
	body := []byte(`{"id":"x","choices":[{"message":{"content":"\"usage\":{}"}}],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":3}}}`)
	want := &llm.Usage{InputTokens: 19, OutputTokens: 10, CacheReadTokens: 4, ReasoningTokens: 3}
	if diff := cmp.Diff(want, ResponseUsage(body)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if u := ResponseUsage([]byte(`{"id":"x","usage":null}`)); u != nil {
		t.Errorf("null usage = %+v", u)
	}
	if u := ResponseUsage([]byte(`{"id":"x"}`)); u != nil {
		t.Errorf("absent usage = %+v", u)
	}
}

func TestChunkUsage(t *testing.T) {
	tests := []struct {
		name      string
		data      string
		want      *llm.Usage
		usageOnly bool
	}{
		{"no usage", `{"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}]}`, nil, false},
		{"usage null", `{"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}`, nil, false},
		{"text mentions usage", `{"id":"c","choices":[{"index":0,"delta":{"content":"\"usage\":{\"prompt_tokens\":1}"}}]}`, nil, false},
		{"usage chunk", `{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}`, &llm.Usage{InputTokens: 12, OutputTokens: 7}, true},
		{"usage with choices (vLLM continuous)", `{"id":"c","choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":12,"completion_tokens":1}}`, &llm.Usage{InputTokens: 12, OutputTokens: 1}, false},
		{"spaced empty choices", `{"choices": [ ], "usage": {"prompt_tokens":1}}`, &llm.Usage{InputTokens: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, only := ChunkUsage([]byte(tt.data))
			if diff := cmp.Diff(tt.want, u); diff != "" || only != tt.usageOnly {
				t.Errorf("usageOnly = %v, usage (-want +got):\n%s", only, diff)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	long := strings.Repeat("é", 400)
	tests := []struct{ name, body, want string }{
		{"openai", `{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, "Incorrect API key provided."},
		{"llama.cpp", `{"error":{"code":500,"message":"context full","type":"server_error"}}`, "context full"},
		{"tgi", `{"error":"Input validation error","error_type":"validation"}`, "Input validation error"},
		{"vllm", `{"object":"error","message":"The model x does not exist.","type":"NotFoundError","code":404}`, "The model x does not exist."},
		{"fastapi", `{"detail":"Not Found"}`, "Not Found"},
		{"fastapi list", `{"detail":[{"loc":["body"],"msg":"field required"}]}`, "field required"},
		{"plain", "  upstream connect error  \n", "upstream connect error"},
		{"long", long, long[:500]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorMessage([]byte(tt.body)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
