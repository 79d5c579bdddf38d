package fake

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

func openaiClient(f *OpenAI, key string) sdk.Client {
	return sdk.NewClient(option.WithBaseURL(f.URL+"/"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

func openaiParams(text string, tools bool) sdk.ChatCompletionNewParams {
	p := sdk.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.SystemMessage("Be brief."), sdk.UserMessage(text)},
	}
	if tools {
		p.Tools = []sdk.ChatCompletionToolUnionParam{
			sdk.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather"}),
			sdk.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "other"}),
		}
	}
	return p
}

// openaiSummary is what a test compares of an answer.
type openaiSummary struct {
	Content string
	Calls   []string // id name args
	Finish  string
	In, Out int64
}

func summariseCompletion(c *sdk.ChatCompletion) openaiSummary {
	s := openaiSummary{Content: c.Choices[0].Message.Content, Finish: c.Choices[0].FinishReason, In: c.Usage.PromptTokens, Out: c.Usage.CompletionTokens}
	for _, tc := range c.Choices[0].Message.ToolCalls {
		s.Calls = append(s.Calls, tc.ID+" "+tc.Function.Name+" "+tc.Function.Arguments)
	}
	return s
}

func TestOpenAISDK(t *testing.T) {
	f := NewOpenAI()
	defer f.Close()
	client := openaiClient(f, APIKey)
	tests := []struct {
		name  string
		text  string
		tools bool
		want  openaiSummary
	}{
		{"text", "hi there", false, openaiSummary{Content: "Hello! You said: hi there", Finish: "stop", In: InputTokens, Out: OutputTokens}},
		{"tool call", "weather?", true, openaiSummary{Calls: []string{"call_fake_0 get_weather " + ToolArgs}, Finish: "tool_calls", In: InputTokens, Out: OutputTokens}},
		{"parallel", "weather? [[parallel]]", true, openaiSummary{Calls: []string{"call_fake_0 get_weather " + ToolArgs, "call_fake_1 get_weather " + ToolArgs2}, Finish: "tool_calls", In: InputTokens, Out: OutputTokens}},
	}
	// Tool call ids carry the request sequence number; normalise it.
	norm := func(s openaiSummary) openaiSummary {
		for i, c := range s.Calls {
			if j := strings.Index(c, "_"); j >= 0 && strings.HasPrefix(c, "call_fake") {
				k := strings.LastIndex(c[:strings.Index(c, " ")], "_")
				s.Calls[i] = "call_fake" + c[k:]
			}
		}
		return s
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Chat.Completions.New(context.Background(), openaiParams(tt.text, tt.tools))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, norm(summariseCompletion(resp))); diff != "" {
				t.Errorf("plain (-want +got):\n%s", diff)
			}
			for _, includeUsage := range []bool{true, false} {
				p := openaiParams(tt.text, tt.tools)
				if includeUsage {
					p.StreamOptions = sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}
				}
				stream := client.Chat.Completions.NewStreaming(context.Background(), p)
				var acc sdk.ChatCompletionAccumulator
				chunks := 0
				for stream.Next() {
					if !acc.AddChunk(stream.Current()) {
						t.Fatal("accumulator rejected a chunk")
					}
					chunks++
				}
				if err := stream.Err(); err != nil {
					t.Fatal(err)
				}
				want := tt.want
				if !includeUsage {
					want.In, want.Out = 0, 0
				}
				if diff := cmp.Diff(want, norm(summariseCompletion(&acc.ChatCompletion))); diff != "" {
					t.Errorf("stream include_usage=%v (-want +got):\n%s", includeUsage, diff)
				}
				if chunks < 3 {
					t.Errorf("stream had %d chunks, want the answer in pieces", chunks)
				}
			}
		})
	}
}

func TestOpenAIToolResult(t *testing.T) {
	f := NewOpenAI()
	defer f.Close()
	p := openaiParams("weather?", true)
	p.Messages = append(p.Messages,
		sdk.ChatCompletionMessageParamUnion{OfAssistant: &sdk.ChatCompletionAssistantMessageParam{ToolCalls: []sdk.ChatCompletionMessageToolCallUnionParam{{
			OfFunction: &sdk.ChatCompletionMessageFunctionToolCallParam{ID: "call_1", Function: sdk.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: ToolArgs}},
		}}}},
		sdk.ToolMessage("18 degrees", "call_1"))
	client := openaiClient(f, APIKey)
	resp, err := client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "Tool said: 18 degrees" {
		t.Errorf("content = %q", got)
	}
}

func TestOpenAIErrors(t *testing.T) {
	f := NewOpenAI()
	defer f.Close()
	tests := []struct {
		name, key, text     string
		status              int
		typ, code, param    string
		retryAfter, message string
	}{
		{"no key", "", "hi", 401, "invalid_request_error", "", "", "", "You didn't provide an API key."},
		{"wrong key", "sk-wrong-key-1234", "hi", 401, "invalid_request_error", "invalid_api_key", "", "", "Incorrect API key provided: sk-********1234."},
		{"429", APIKey, "x [[429]]", 429, "requests", "rate_limit_exceeded", "", "1", "Rate limit reached for gpt-4o"},
		{"500", APIKey, "x [[500]]", 500, "server_error", "", "", "", "The server had an error"},
		{"503", APIKey, "x [[503]]", 503, "server_error", "", "", "", "overloaded"},
		{"400", APIKey, "x [[400]]", 400, "invalid_request_error", "invalid_value", "temperature", "", "Invalid value for 'temperature'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []option.RequestOption{}
			if tt.key == "" {
				opts = append(opts, option.WithHeaderDel("Authorization"))
			}
			client := openaiClient(f, tt.key)
			_, err := client.Chat.Completions.New(context.Background(), openaiParams(tt.text, false), opts...)
			var e *sdk.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *openai.Error", err)
			}
			if e.StatusCode != tt.status || e.Type != tt.typ || e.Code != tt.code || e.Param != tt.param || !strings.Contains(e.Message, tt.message) {
				t.Errorf("got %d type=%q code=%q param=%q message=%q", e.StatusCode, e.Type, e.Code, e.Param, e.Message)
			}
			if got := e.Response.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
		})
	}
}

func TestOpenAIStreamFaults(t *testing.T) {
	f := NewOpenAI()
	defer f.Close()
	client := openaiClient(f, APIKey)
	tests := []struct {
		name, text, wantErr string
		wantText            string
	}{
		{"cut", "one two three four [[cut]]", "", "Hello! You "},
		{"midstream error", "x [[midstream-error]]", "received error while streaming", "Hello"},
		{"malformed", "x [[malformed]]", "invalid character", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := client.Chat.Completions.NewStreaming(context.Background(), openaiParams(tt.text, false))
			var text strings.Builder
			for stream.Next() {
				if c := stream.Current(); len(c.Choices) > 0 {
					text.WriteString(c.Choices[0].Delta.Content)
				}
			}
			err := stream.Err()
			if err == nil {
				t.Fatal("stream ended without error")
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if text.String() != tt.wantText {
				t.Errorf("text before the fault = %q, want %q", text.String(), tt.wantText)
			}
		})
	}
	t.Run("cut without stream", func(t *testing.T) {
		_, err := client.Chat.Completions.New(context.Background(), openaiParams("x [[cut]]", false))
		if err == nil {
			t.Fatal("want an error for a body cut half-way")
		}
	})
	t.Run("malformed without stream", func(t *testing.T) {
		_, err := client.Chat.Completions.New(context.Background(), openaiParams("x [[malformed]]", false))
		if err == nil {
			t.Fatal("want an error for a malformed body")
		}
	})
	t.Run("slow", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := client.Chat.Completions.New(ctx, openaiParams("x [[slow]]", false))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the client deadline to pass first", err)
		}
		if d := time.Since(start); d > SlowDelay {
			t.Errorf("took %v", d)
		}
	})
}

func TestOpenAIEmbeddings(t *testing.T) {
	f := NewOpenAI()
	defer f.Close()
	client := openaiClient(f, APIKey)
	for _, format := range []sdk.EmbeddingNewParamsEncodingFormat{sdk.EmbeddingNewParamsEncodingFormatFloat, sdk.EmbeddingNewParamsEncodingFormatBase64} {
		resp, err := client.Embeddings.New(context.Background(), sdk.EmbeddingNewParams{
			Model:          "text-embedding-3-small",
			Input:          sdk.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello world", "bye"}},
			EncodingFormat: format,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 || resp.Usage.PromptTokens != 3 {
			t.Fatalf("data=%d usage=%+v", len(resp.Data), resp.Usage)
		}
		for i, text := range []string{"hello world", "bye"} {
			want := OpenAIVector(text, 8)
			got := resp.Data[i].Embedding
			if len(got) != 8 {
				t.Fatalf("dims = %d", len(got))
			}
			var norm float64
			for j := range got {
				if float32(got[j]) != want[j] {
					t.Errorf("%s: vector[%d] = %v, want %v", format, j, got[j], want[j])
				}
				norm += got[j] * got[j]
			}
			if math.Abs(norm-1) > 1e-5 {
				t.Errorf("norm² = %v, want 1", norm)
			}
		}
	}
	resp, err := client.Embeddings.New(context.Background(), sdk.EmbeddingNewParams{
		Model: "text-embedding-3-small", Input: sdk.EmbeddingNewParamsInputUnion{OfString: sdk.String("x")}, Dimensions: sdk.Int(4),
	})
	if err != nil || len(resp.Data[0].Embedding) != 4 {
		t.Fatalf("dimensions 4: %v", err)
	}
	if _, err := client.Embeddings.New(context.Background(), sdk.EmbeddingNewParams{
		Model: "m", Input: sdk.EmbeddingNewParamsInputUnion{OfString: sdk.String("x [[429]]")},
	}); err == nil || !strings.Contains(err.Error(), "429") {
		t.Errorf("[[429]] in an input: err = %v", err)
	}
	if OpenAIVector("a", 8)[0] == OpenAIVector("b", 8)[0] {
		t.Error("different texts should embed differently")
	}
}

func TestOpenAIRoutesAndLog(t *testing.T) {
	f := NewOpenAI()
	defer f.Close()
	client := openaiClient(f, APIKey)
	page, err := client.Models.List(context.Background())
	if err != nil || len(page.Data) == 0 || page.Data[0].ID != "gpt-4o" {
		t.Fatalf("models: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, f.URL+"/nope", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || string(body) != `{"error":{"message":"Invalid URL (POST /v1/nope)","type":"invalid_request_error","param":null,"code":null}}` {
		t.Errorf("404: %d %s", resp.StatusCode, body)
	}
	f.Log.Reset()
	if _, err := client.Chat.Completions.New(context.Background(), openaiParams("logged", false)); err != nil {
		t.Fatal(err)
	}
	all := f.Log.All()
	if len(all) != 1 || all[0].Path != "/v1/chat/completions" || !strings.Contains(string(all[0].Body), `"logged"`) ||
		all[0].Header.Get("Authorization") != "Bearer "+APIKey {
		t.Errorf("log = %+v", all)
	}
	f.Record(false)
	if _, err := client.Chat.Completions.New(context.Background(), openaiParams("not logged", false)); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Log.All()); n != 1 {
		t.Errorf("recorded %d requests with recording off", n)
	}
}

// TestOpenAIRawStream pins the exact wire form of a streamed answer.
func TestOpenAIRawStream(t *testing.T) {
	f := NewOpenAI()
	defer f.Close()
	req, _ := http.NewRequest(http.MethodPost, f.URL+"/chat/completions", strings.NewReader(
		`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	id := resp.Header.Get("x-request-id")[len("req_fake_"):]
	pre := `data: {"id":"chatcmpl-fake` + id + `","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","service_tier":"default","system_fingerprint":"fp_fake",`
	want := pre + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n" +
		pre + `"choices":[{"index":0,"delta":{"content":"Hello! "},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n" +
		pre + `"choices":[{"index":0,"delta":{"content":"You "},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n" +
		pre + `"choices":[{"index":0,"delta":{"content":"said: "},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n" +
		pre + `"choices":[{"index":0,"delta":{"content":"hi"},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n" +
		pre + `"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}` + "\n\n" +
		pre + `"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}` + "\n\n" +
		"data: [DONE]\n\n"
	if diff := cmp.Diff(want, string(body)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type = %q", ct)
	}
}
