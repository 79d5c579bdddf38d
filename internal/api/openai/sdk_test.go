package openai

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// sdkServer answers the official Go SDK with this package's ingress
// functions, the way the gateway will, and keeps what it decoded.
type sdkServer struct {
	mu       sync.Mutex // guards the following fields
	chat     *llm.ChatRequest
	embed    *llm.EmbedRequest
	response *llm.ChatResponse
	chunks   []llm.Chunk
	errResp  *llm.Error
}

func (s *sdkServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(e *llm.Error) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		w.Write(EncodeError(e))
	}
	if s.errResp != nil {
		fail(s.errResp)
		return
	}
	switch r.URL.Path {
	case "/v1/chat/completions":
		req, err := DecodeChatRequest(body)
		if err != nil {
			fail(llm.AsError(err))
			return
		}
		s.chat = req
		if !req.Stream {
			out, _ := EncodeChatResponse(s.response)
			w.Header().Set("Content-Type", "application/json")
			w.Write(out)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		e := NewStreamEncoder("chatcmpl-sdk", req.Model, 1700000000, req.IncludeUsage)
		var b []byte
		for i := range s.chunks {
			b = e.Append(b, &s.chunks[i])
		}
		w.Write(e.Done(b))
	case "/v1/embeddings":
		req, err := DecodeEmbedRequest(body)
		if err != nil {
			fail(llm.AsError(err))
			return
		}
		s.embed = req
		out, _ := EncodeEmbedResponse(&llm.EmbedResponse{
			Vectors: [][]float32{{0.5, -0.25, 1e-7}, {3, 0, -1}},
			Usage:   &llm.Usage{InputTokens: 5},
		}, req.Model, req.EncodingFormat)
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	default:
		http.NotFound(w, r)
	}
}

func newSDK(t *testing.T, s *sdkServer) sdk.Client {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return sdk.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
}

func TestSDKChatRoundTrip(t *testing.T) {
	s := &sdkServer{response: &llm.ChatResponse{
		ID: "chatcmpl-1", Model: "gpt-4o", Created: 1700000000,
		Choices: []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
			{ID: "call_a", Name: "get_weather", Arguments: `{"location":"Paris"}`},
			{ID: "call_b", Name: "get_weather", Arguments: `{"location":"London"}`},
		}}, FinishReason: llm.FinishToolCalls}},
		Usage: &llm.Usage{InputTokens: 100, OutputTokens: 20, CacheReadTokens: 64, ReasoningTokens: 5},
	}}
	client := newSDK(t, s)
	resp, err := client.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{
		Model: "gpt-4o",
		Messages: []sdk.ChatCompletionMessageParamUnion{
			sdk.DeveloperMessage("Be brief."),
			sdk.UserMessage([]sdk.ChatCompletionContentPartUnionParam{
				sdk.TextContentPart("Weather here?"),
				sdk.ImageContentPart(sdk.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo=", Detail: "low"}),
			}),
			{OfAssistant: &sdk.ChatCompletionAssistantMessageParam{ToolCalls: []sdk.ChatCompletionMessageToolCallUnionParam{{
				OfFunction: &sdk.ChatCompletionMessageFunctionToolCallParam{ID: "call_0", Function: sdk.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "locate", Arguments: "{}"}},
			}}}},
			sdk.ToolMessage("Paris", "call_0"),
		},
		Tools: []sdk.ChatCompletionToolUnionParam{sdk.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Description: sdk.String("Weather"), Strict: sdk.Bool(true),
			Parameters: shared.FunctionParameters{"type": "object"},
		})},
		ToolChoice:          sdk.ToolChoiceOptionFunctionToolChoice(sdk.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_weather"}),
		MaxCompletionTokens: sdk.Int(300),
		Temperature:         sdk.Float(0.5),
		Seed:                sdk.Int(7),
		ResponseFormat: sdk.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "out", Schema: map[string]any{"type": "object"}, Strict: sdk.Bool(true)},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}

	// What the gateway decoded from the SDK's request.
	mt, temp, seed := 300, 0.5, int64(7)
	yes := true
	want := &llm.ChatRequest{
		Model: "gpt-4o",
		Messages: []llm.Message{
			llm.TextMessage(llm.RoleSystem, "Be brief."),
			{Role: llm.RoleUser, Content: []llm.Part{
				{Type: llm.PartText, Text: "Weather here?"},
				{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/png", Data: "iVBORw0KGgo=", Detail: "low"}},
			}},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_0", Name: "locate", Arguments: "{}"}}},
			{Role: llm.RoleTool, ToolCallID: "call_0", Content: []llm.Part{{Type: llm.PartText, Text: "Paris"}}},
		},
		Tools:          []llm.Tool{{Name: "get_weather", Description: "Weather", Parameters: []byte(`{"type":"object"}`), Strict: &yes}},
		ToolChoice:     &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "get_weather"},
		ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Name: "out", Schema: []byte(`{"type":"object"}`), Strict: &yes},
		MaxTokens:      &mt,
		Temperature:    &temp,
		Seed:           &seed,
	}
	if diff := cmp.Diff(want, s.chat); diff != "" {
		t.Errorf("decoded request (-want +got):\n%s", diff)
	}

	// What the SDK made of the gateway's answer.
	if len(resp.Choices) != 1 {
		t.Fatalf("choices = %d", len(resp.Choices))
	}
	c := resp.Choices[0]
	if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 2 ||
		c.Message.ToolCalls[1].Function.Arguments != `{"location":"London"}` || c.Message.ToolCalls[0].ID != "call_a" {
		t.Errorf("choice = %+v", c)
	}
	u := resp.Usage
	if u.PromptTokens != 100 || u.CompletionTokens != 20 || u.TotalTokens != 120 ||
		u.PromptTokensDetails.CachedTokens != 64 || u.CompletionTokensDetails.ReasoningTokens != 5 {
		t.Errorf("usage = %+v", u)
	}
}

// TestSDKStreamAccumulate checks that the SDK's accumulator, which adds
// usage up over every chunk, ends with the usage counted once, the text,
// and both parallel tool calls.
func TestSDKStreamAccumulate(t *testing.T) {
	for _, includeUsage := range []bool{true, false} {
		s := &sdkServer{chunks: []llm.Chunk{
			{Role: llm.RoleAssistant},
			{Text: "Checking. "},
			{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_a", Name: "get_weather", Arguments: `{"location":`}}},
			{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}}},
			{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "call_b", Name: "get_weather", Arguments: `{"location":"London"}`}}},
			{FinishReason: llm.FinishToolCalls, Usage: &llm.Usage{InputTokens: 12, OutputTokens: 7}},
		}}
		client := newSDK(t, s)
		params := sdk.ChatCompletionNewParams{
			Model:    "gpt-4o",
			Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("hi")},
		}
		if includeUsage {
			params.StreamOptions = sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}
		}
		stream := client.Chat.Completions.NewStreaming(context.Background(), params)
		var acc sdk.ChatCompletionAccumulator
		n := 0
		for stream.Next() {
			if !acc.AddChunk(stream.Current()) {
				t.Fatalf("accumulator rejected chunk %d", n)
			}
			n++
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if !s.chat.Stream || s.chat.IncludeUsage != includeUsage {
			t.Errorf("decoded Stream=%v IncludeUsage=%v", s.chat.Stream, s.chat.IncludeUsage)
		}
		msg := acc.Choices[0].Message
		if msg.Content != "Checking. " || len(msg.ToolCalls) != 2 ||
			msg.ToolCalls[0].Function.Arguments != `{"location":"Paris"}` || msg.ToolCalls[1].ID != "call_b" {
			t.Errorf("include_usage=%v: message = %+v", includeUsage, msg)
		}
		if acc.Choices[0].FinishReason != "tool_calls" {
			t.Errorf("finish = %q", acc.Choices[0].FinishReason)
		}
		wantIn, wantOut := int64(12), int64(7)
		if !includeUsage {
			wantIn, wantOut = 0, 0
		}
		if acc.Usage.PromptTokens != wantIn || acc.Usage.CompletionTokens != wantOut {
			t.Errorf("include_usage=%v: usage = %d/%d, want %d/%d", includeUsage, acc.Usage.PromptTokens, acc.Usage.CompletionTokens, wantIn, wantOut)
		}
	}
}

func TestSDKEmbeddings(t *testing.T) {
	for _, format := range []sdk.EmbeddingNewParamsEncodingFormat{"", sdk.EmbeddingNewParamsEncodingFormatFloat, sdk.EmbeddingNewParamsEncodingFormatBase64} {
		s := &sdkServer{}
		client := newSDK(t, s)
		resp, err := client.Embeddings.New(context.Background(), sdk.EmbeddingNewParams{
			Model:          "text-embedding-3-small",
			Input:          sdk.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
			EncodingFormat: format,
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"a", "b"}, s.embed.Input); diff != "" {
			t.Errorf("decoded input (-want +got):\n%s", diff)
		}
		// Floats travel as shortest float32 text or exact float32 bits;
		// either way they come back as the same float32.
		var got [][]float32
		for _, d := range resp.Data {
			v := make([]float32, len(d.Embedding))
			for i, f := range d.Embedding {
				v[i] = float32(f)
			}
			got = append(got, v)
		}
		want := [][]float32{{0.5, -0.25, 1e-7}, {3, 0, -1}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("format %q: vectors (-want +got):\n%s", format, diff)
		}
		if resp.Usage.PromptTokens != 5 {
			t.Errorf("usage = %+v", resp.Usage)
		}
	}
}

func TestSDKErrors(t *testing.T) {
	tests := []struct {
		name                    string
		err                     *llm.Error
		body                    bool
		wantType, wantCode, msg string
	}{
		{"unknown model", &llm.Error{Status: 404, Type: llm.ErrNotFound, Code: "model_not_found", Message: "The model `x` does not exist."}, false, "invalid_request_error", "model_not_found", "The model `x` does not exist."},
		// An upstream 404 keeps its own code, none here (OpenAI: an unknown input item id).
		{"upstream not found", &llm.Error{Status: 404, Type: llm.ErrNotFound, Message: "Item with id 'msg_1' not found."}, false, "invalid_request_error", "", "Item with id 'msg_1' not found."},
		{"budget", &llm.Error{Status: 429, Type: llm.ErrQuota, Message: "Budget exceeded."}, false, "insufficient_quota", "insufficient_quota", "Budget exceeded."},
		// OpenAI's rate-limit errors name the limit: requests or tokens.
		{"rpm", &llm.Error{Status: 429, Type: llm.ErrRateLimit, RateLimit: "requests", Message: "rate limit reached: 10 requests per minute"}, false, "requests", "rate_limit_exceeded", "rate limit reached: 10 requests per minute"},
		{"tpm", &llm.Error{Status: 429, Type: llm.ErrRateLimit, RateLimit: "tokens", Message: "rate limit reached: 100 tokens per minute"}, false, "tokens", "rate_limit_exceeded", "rate limit reached: 100 tokens per minute"},
		{"bad request", nil, true, "invalid_request_error", "invalid_value", "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sdkServer{errResp: tt.err}
			client := newSDK(t, s)
			msgs := []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("hi")}
			var opts []option.RequestOption
			if tt.body {
				opts = append(opts, option.WithJSONSet("messages.0.role", "robot"))
			}
			_, err := client.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{Model: "x", Messages: msgs}, opts...)
			var apiErr *sdk.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *openai.Error", err)
			}
			if apiErr.Type != tt.wantType || apiErr.Code != tt.wantCode || apiErr.Message != tt.msg {
				t.Errorf("got type=%q code=%q message=%q", apiErr.Type, apiErr.Code, apiErr.Message)
			}
		})
	}
}
