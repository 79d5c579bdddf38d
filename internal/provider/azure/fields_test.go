package azure

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// azureChatParams are the request fields of Azure OpenAI's chat
// completions, api-version 2024-10-21
// (https://learn.microsoft.com/en-us/azure/ai-services/openai/reference#chat-completions),
// plus reasoning_effort from the later versions reasoning deployments
// need. Azure refuses any other field as an unrecognized argument.
var azureChatParams = []string{"model", "messages", "temperature", "top_p", "stream", "stream_options", "stop",
	"max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "user",
	"data_sources", "logprobs", "top_logprobs", "n", "parallel_tool_calls", "response_format", "seed", "tools",
	"tool_choice", "function_call", "functions", "reasoning_effort"}

// accepted is the last body strictAzure accepted.
type accepted struct {
	mu   sync.Mutex
	body map[string]json.RawMessage
}

func (a *accepted) get() map[string]json.RawMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.body
}

// strictAzure answers chat completions as Azure does, refusing fields it
// does not define with its 400, and records the body it accepted.
func strictAzure(t *testing.T) (*httptest.Server, *accepted) {
	got := &accepted{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]json.RawMessage
		_ = json.Unmarshal(b, &m)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.Header().Set("Content-Type", "application/json")
		for _, k := range keys {
			if !slices.Contains(azureChatParams, k) {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":{"message":"Unrecognized request argument supplied: `+k+`","type":"invalid_request_error","param":null,"code":null}}`)
				return
			}
		}
		got.mu.Lock()
		got.body = m
		got.mu.Unlock()
		if string(m["stream"]) == "true" {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, `data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}

data: {"choices":[{"delta":{"content":"Bonjour !","role":"assistant"},"finish_reason":null,"index":0}],"created":1733400000,"id":"chatcmpl-A1","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk"}

data: {"choices":[{"delta":{},"finish_reason":"stop","index":0}],"created":1733400000,"id":"chatcmpl-A1","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk"}

data: {"choices":[],"created":1733400000,"id":"chatcmpl-A1","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}

data: [DONE]

`)
			return
		}
		_, _ = io.WriteString(w, `{"id":"chatcmpl-A1","object":"chat.completion","created":1733400000,"model":"gpt-4o-2024-11-20",
"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Bonjour !"},"content_filter_results":{}}],
"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12},"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// service_tier (written as "default") and prompt_cache_key are OpenAI's;
// Azure refused the request with "Unrecognized request argument". Both
// change no answer and are left out; strict and parallel_tool_calls are
// Azure's and are sent as they are.
func TestOpenAIOnlyFieldsLeftOut(t *testing.T) {
	srv, acc := strictAzure(t)
	c := clientAt(t, srv.URL)
	yes, no := true, false
	req := userReq("Bonjour")
	req.Extra = map[string]json.RawMessage{"service_tier": json.RawMessage(`"default"`), "prompt_cache_key": json.RawMessage(`"user-42"`)}
	req.Tools = []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`), Strict: &yes}}
	req.ParallelToolCalls = &no
	req.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Name: "r", Schema: json.RawMessage(`{"type":"object"}`), Strict: &yes}
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatal(err)
	}
	if len(req.Extra) != 2 {
		t.Errorf("the client's request was changed: %v", req.Extra)
	}
	got := acc.get()
	var tools []struct {
		Function struct {
			Strict *bool `json:"strict"`
		} `json:"function"`
	}
	_ = json.Unmarshal(got["tools"], &tools)
	if len(tools) != 1 || tools[0].Function.Strict == nil || !*tools[0].Function.Strict || string(got["parallel_tool_calls"]) != "false" {
		t.Errorf("tools %s, parallel_tool_calls %s", got["tools"], got["parallel_tool_calls"])
	}
	var rf struct {
		JSONSchema struct {
			Strict bool `json:"strict"`
		} `json:"json_schema"`
	}
	_ = json.Unmarshal(got["response_format"], &rf)
	if !rf.JSONSchema.Strict {
		t.Errorf("response_format = %s", got["response_format"])
	}

	s, err := c.ChatStream(t.Context(), permit(c), req)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if text, _, _, err := collect(t, s); err != nil || text != "Bonjour !" {
		t.Errorf("stream: %q, %v", text, err)
	}
}

// clientAt is a client of the Azure resource at url.
func clientAt(t *testing.T, url string) *Client {
	t.Helper()
	c, err := New(config.Provider{Name: "azure-eu", Type: "azure_openai", BaseURL: url, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	return c
}

// top_k (an Anthropic client's) has no Azure OpenAI field: refused by
// name before anything is sent, not by Azure's vaguer 400.
func TestTopKRefused(t *testing.T) {
	srv, acc := strictAzure(t)
	c := clientAt(t, srv.URL)
	k := 40
	req := userReq("Bonjour")
	req.TopK = &k
	_, err := c.Chat(t.Context(), permit(c), req)
	if e := llm.AsError(err); e.Status != http.StatusBadRequest || e.Param != "top_k" || e.Code != "unsupported_parameter" {
		t.Fatalf("err = %v, want a 400 naming top_k", err)
	}
	if got := acc.get(); got != nil {
		t.Errorf("sent %v", got)
	}
}
