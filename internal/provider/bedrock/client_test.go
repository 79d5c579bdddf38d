package bedrock

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

const region = "eu-central-1"

func newFake(t *testing.T) *fake.Bedrock {
	f := fake.NewBedrock(region)
	t.Cleanup(f.Close)
	return f
}

func newClient(t *testing.T, f *fake.Bedrock, mod func(*config.Provider)) *Client {
	t.Helper()
	cfg := config.Provider{Name: "bedrock-eu", Type: "bedrock", BaseURL: f.URL, Region: "eu", Retention: "none",
		AWS: &config.AWS{Region: region, AccessKeyID: fake.BedrockAccessKey, SecretAccessKey: fake.BedrockSecretKey}}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	return c
}

const claude = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"

func userReq(text string) *llm.ChatRequest {
	return &llm.ChatRequest{Model: claude, Messages: []llm.Message{
		llm.TextMessage(llm.RoleSystem, "Be brief."), llm.TextMessage(llm.RoleUser, text)}}
}

var weatherTool = llm.Tool{Name: "get_weather", Description: "Weather", Parameters: []byte(`{"type":"object","properties":{"location":{"type":"string"}}}`)}

func collect(t *testing.T, s provider.Stream) (text string, calls map[int]*llm.ToolCall, last *llm.Chunk, err error) {
	t.Helper()
	defer s.Close()
	calls = map[int]*llm.ToolCall{}
	for {
		c, rerr := s.Recv()
		if rerr != nil {
			if rerr == io.EOF {
				rerr = nil
			}
			return text, calls, last, rerr
		}
		text += c.Text
		for _, d := range c.ToolCalls {
			tc := calls[d.Index]
			if tc == nil {
				tc = &llm.ToolCall{}
				calls[d.Index] = tc
			}
			if d.ID != "" {
				tc.ID, tc.Name = d.ID, d.Name
			}
			tc.Arguments += d.Arguments
		}
		last = c
	}
}

func TestChatSignedConverse(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	maxT, temp := 100, 0.5
	req := userReq("Hi there")
	req.MaxTokens, req.Temperature, req.Stop = &maxT, &temp, []string{"END"}
	resp, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != fake.Reply("Hi there") {
		t.Errorf("text = %q", got)
	}
	if resp.Choices[0].FinishReason != llm.FinishStop || resp.Usage == nil || resp.Usage.InputTokens != fake.InputTokens || resp.Usage.OutputTokens != fake.OutputTokens {
		t.Errorf("finish %q usage %+v", resp.Choices[0].FinishReason, resp.Usage)
	}
	if !strings.HasPrefix(resp.ID, "chatcmpl-fake-req-") {
		t.Errorf("id = %q, want one from x-amzn-RequestId", resp.ID)
	}
	r := f.Log.All()[0]
	// The model ID is one path segment with its ':' escaped, as the SDK sends it.
	if r.Path != "/model/eu.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse" {
		t.Errorf("path = %q", r.Path)
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+fake.BedrockAccessKey+"/") {
		t.Errorf("authorization = %q", r.Header.Get("Authorization"))
	}
	var body map[string]any
	_ = json.Unmarshal(r.Body, &body)
	want := `{"inferenceConfig":{"maxTokens":100,"stopSequences":["END"],"temperature":0.5},"messages":[{"content":[{"text":"Hi there"}],"role":"user"}],"system":[{"text":"Be brief."}]}`
	if got, _ := json.Marshal(body); string(got) != want {
		t.Errorf("body = %s\nwant %s", got, want)
	}
}

func TestWrongSecretIsAnUpstreamAuthFailure(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, func(p *config.Provider) { p.AWS.SecretAccessKey = "not-the-secret" })
	_, err := c.Chat(t.Context(), permit(c), userReq("Hi"))
	e := llm.AsError(err)
	if e == nil || e.Status != http.StatusBadGateway || e.Code != "upstream_auth_failed" || !strings.Contains(e.Message, "InvalidSignatureException") {
		t.Fatalf("err = %v", err)
	}
}

// The default chain reads a shared-credentials profile, as deployed hosts do.
func TestCredentialsFromSharedProfile(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[fulcrum]\naws_access_key_id = "+fake.BedrockAccessKey+"\naws_secret_access_key = "+fake.BedrockSecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	f := newFake(t)
	c := newClient(t, f, func(p *config.Provider) { p.AWS = &config.AWS{Region: region, Profile: "fulcrum"} })
	if _, err := c.Chat(t.Context(), permit(c), userReq("Hi")); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialsFromEnvironment(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", fake.BedrockAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", fake.BedrockSecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "session-token-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	f := newFake(t)
	c := newClient(t, f, func(p *config.Provider) { p.AWS = &config.AWS{Region: region} })
	if _, err := c.Chat(t.Context(), permit(c), userReq("Hi")); err != nil {
		t.Fatal(err)
	}
	if got := f.Log.All()[0].Header.Get("X-Amz-Security-Token"); got != "session-token-1" {
		t.Errorf("security token = %q", got)
	}
}

func TestStreamEventStream(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	s, err := c.ChatStream(t.Context(), permit(c), userReq("Paris in spring"))
	if err != nil {
		t.Fatal(err)
	}
	text, _, last, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if text != fake.Reply("Paris in spring") {
		t.Errorf("text = %q", text)
	}
	if last.FinishReason != llm.FinishStop || last.Usage == nil || last.Usage.OutputTokens != fake.OutputTokens {
		t.Errorf("last chunk = %+v", last)
	}
	if r := f.Log.All()[0]; !strings.HasSuffix(r.Path, "/converse-stream") || r.Header.Get("Accept") != "application/vnd.amazon.eventstream" {
		t.Errorf("request %s accept %q", r.Path, r.Header.Get("Accept"))
	}
}

func TestToolsRoundTrip(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	req := userReq("Weather? [[parallel]]")
	req.Tools = []llm.Tool{weatherTool}
	req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
	resp, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	calls := resp.Choices[0].Message.ToolCalls
	if resp.Choices[0].FinishReason != llm.FinishToolCalls || len(calls) != 2 || calls[0].Arguments != fake.ToolArgs || calls[1].Arguments != fake.ToolArgs2 {
		t.Fatalf("answer = %+v", resp.Choices[0])
	}
	var sent map[string]any
	_ = json.Unmarshal(f.Log.All()[0].Body, &sent)
	if tc, _ := json.Marshal(sent["toolConfig"]); !strings.Contains(string(tc), `"toolChoice":{"any":{}}`) || !strings.Contains(string(tc), `"inputSchema":{"json":{"properties"`) {
		t.Errorf("toolConfig = %s", tc)
	}

	// Stream the same request: the calls arrive as deltas.
	s, err := c.ChatStream(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	_, scalls, last, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(scalls) != 2 || scalls[0].Arguments != fake.ToolArgs || scalls[1].Name != "get_weather" || !strings.HasPrefix(scalls[1].ID, "tooluse_") || last.FinishReason != llm.FinishToolCalls {
		t.Errorf("streamed calls %+v finish %q", scalls, last.FinishReason)
	}

	// Two tool results become one user turn (Bedrock wants turns to alternate).
	req.ToolChoice = nil
	req.Messages = append(req.Messages, llm.Message{Role: llm.RoleAssistant, ToolCalls: calls},
		llm.Message{Role: llm.RoleTool, ToolCallID: calls[0].ID, Content: []llm.Part{{Type: llm.PartText, Text: "18C"}}},
		llm.Message{Role: llm.RoleTool, ToolCallID: calls[1].ID, Content: []llm.Part{{Type: llm.PartText, Text: "12C"}}, IsError: true})
	resp, err = c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != "Tool said: 12C" {
		t.Errorf("text = %q", got)
	}
	var last3 struct {
		Messages []struct {
			Role    string           `json:"role"`
			Content []map[string]any `json:"content"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(f.Log.All()[2].Body, &last3)
	if n := len(last3.Messages); n != 3 || last3.Messages[2].Role != "user" || len(last3.Messages[2].Content) != 2 {
		t.Fatalf("messages = %+v", last3.Messages)
	}
	if tr, _ := json.Marshal(last3.Messages[2].Content[1]); !strings.Contains(string(tr), `"status":"error"`) {
		t.Errorf("error tool result = %s", tr)
	}
}

func TestThrottlingIs429WithRetryAfter(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	_, err := c.Chat(t.Context(), permit(c), userReq("[[429]]"))
	e := llm.AsError(err)
	if e == nil || e.Status != http.StatusTooManyRequests || e.RetryAfter != DefaultRetryAfter || e.Type != llm.ErrRateLimit || !strings.Contains(e.Message, "ThrottlingException") {
		t.Fatalf("err = %#v", err)
	}
	_, err = c.ChatStream(t.Context(), permit(c), userReq("[[429]]"))
	if e := llm.AsError(err); e == nil || e.Status != http.StatusTooManyRequests {
		t.Fatalf("stream err = %v", err)
	}
}

func TestErrorsMapped(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	for marker, status := range map[string]int{"[[400]]": 400, "[[500]]": 502, "[[503]]": 503} {
		_, err := c.Chat(t.Context(), permit(c), userReq(marker))
		if e := llm.AsError(err); e == nil || e.Status != status || e.Provider != "bedrock-eu" {
			t.Errorf("%s: err = %v, want status %d", marker, err, status)
		}
	}
}

func TestStreamFaults(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	for marker, want := range map[string]int{"[[midstream-error]] a b c": 429, "[[cut]] a b c d": 502, "[[malformed]] a b c": 502} {
		s, err := c.ChatStream(t.Context(), permit(c), userReq(marker))
		if err != nil {
			t.Fatal(err)
		}
		text, _, _, err := collect(t, s)
		e := llm.AsError(err)
		if e == nil || e.Status != want || text == "" {
			t.Errorf("%s: text %q err %v, want status %d after some text", marker, text, err, want)
		}
	}
	_, err := c.Chat(t.Context(), permit(c), userReq("[[cut]]"))
	if e := llm.AsError(err); e == nil || e.Status != http.StatusBadGateway {
		t.Errorf("cut body: err = %v", err)
	}
}

func TestInferenceProfileMustStayInRegion(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	for _, m := range []string{"us.anthropic.claude-3-5-haiku-20241022-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0"} {
		req := userReq("Hi")
		req.Model = m
		_, err := c.Chat(t.Context(), permit(c), req)
		if e := llm.AsError(err); e == nil || e.Status != 400 || e.Code != "model_outside_region" {
			t.Errorf("%s: err = %v", m, err)
		}
	}
	if len(f.Log.All()) != 0 {
		t.Errorf("a refused request reached Bedrock")
	}
	// In-region profiles and plain model IDs (and ARNs) pass.
	for _, m := range []string{"eu.meta.llama3-2-3b-instruct-v1:0", "mistral.mistral-large-2402-v1:0", "arn:aws:bedrock:eu-central-1:123456789012:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0"} {
		req := userReq("Hi")
		req.Model = m
		if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
	if p := f.Log.All()[2].Path; !strings.Contains(p, "arn%3Aaws%3Abedrock%3Aeu-central-1%3A123456789012%3Ainference-profile%2Feu.anthropic") {
		t.Errorf("ARN path = %q", p)
	}
}

func TestUnsupportedParameters(t *testing.T) {
	c := newClient(t, newFake(t), nil)
	seed := int64(1)
	k := 5
	cases := map[string]func(*llm.ChatRequest){
		"seed":            func(r *llm.ChatRequest) { r.Seed = &seed },
		"n":               func(r *llm.ChatRequest) { r.N = 2 },
		"response_format": func(r *llm.ChatRequest) { r.ResponseFormat = &llm.ResponseFormat{Type: "json_object"} },
		"top_k":           func(r *llm.ChatRequest) { r.Model = "eu.meta.llama3-2-3b-instruct-v1:0"; r.TopK = &k },
		"image_url": func(r *llm.ChatRequest) {
			r.Messages[1].Content = append(r.Messages[1].Content, llm.Part{Type: llm.PartImage, Image: &llm.Image{URL: "https://x/y.png"}})
		},
	}
	for name, mod := range cases {
		req := userReq("Hi")
		mod(req)
		_, err := c.Chat(t.Context(), permit(c), req)
		if e := llm.AsError(err); e == nil || e.Status != 400 {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// top_k on an Anthropic model goes in additionalModelRequestFields.
	f := newFake(t)
	c = newClient(t, f, nil)
	req := userReq("Hi")
	req.TopK = &k
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatal(err)
	}
	if b := string(f.Log.All()[0].Body); !strings.Contains(b, `"additionalModelRequestFields":{"top_k":5}`) {
		t.Errorf("body = %s", b)
	}
}

func TestEmbeddings(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	dims := 4
	out, err := c.Embed(t.Context(), permit(c), &llm.EmbedRequest{Model: "amazon.titan-embed-text-v2:0", Input: []string{"one two", "three"}, Dimensions: &dims})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Vectors) != 2 || len(out.Vectors[0]) != 4 || out.Usage == nil || out.Usage.InputTokens != 3 {
		t.Fatalf("titan = %+v", out)
	}
	if string(mustJSON(fake.HashVector("three", 4))) != string(mustJSON(out.Vectors[1])) {
		t.Errorf("vector order: %v", out.Vectors)
	}
	out, err = c.Embed(t.Context(), permit(c), &llm.EmbedRequest{Model: "cohere.embed-multilingual-v3", Input: make([]string, 100)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Vectors) != 100 {
		t.Fatalf("cohere: %d vectors", len(out.Vectors))
	}
	if n := len(f.Log.All()); n != 4 {
		t.Errorf("%d calls, want 2 Titan + 2 Cohere batches", n)
	}
	_, err = c.Embed(t.Context(), permit(c), &llm.EmbedRequest{Model: "eu.anthropic.claude-3-haiku-20240307-v1:0", Input: []string{"x"}})
	if e := llm.AsError(err); e == nil || e.Status != 400 || e.Code != "embeddings_unsupported" {
		t.Errorf("chat model embed: %v", err)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }
