package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// Reasoning across formats: self-hosted reasoning models (vLLM answering
// in "reasoning", a Qwen3 server writing <think> tags), Gemini thought
// parts and an Ollama thinking model, reached with Anthropic thinking,
// OpenAI reasoning_effort and Responses reasoning.effort.
type reasoningUpstreams struct {
	vllm, qwen *fake.OpenAI
	gemini     *fake.Gemini
	ollama     *fake.Ollama
	bedrock    *fake.Bedrock
	mistral    *fake.Mistral
}

func startReasoning(t *testing.T) (*reasoningUpstreams, *gateway) {
	u := &reasoningUpstreams{vllm: fake.NewOpenAI(), qwen: fake.NewOpenAI(), gemini: fake.NewGemini(), ollama: fake.NewOllama(),
		bedrock: fake.NewBedrock("eu-central-1"), mistral: fake.NewMistral()}
	t.Cleanup(func() {
		u.vllm.Close()
		u.qwen.Close()
		u.gemini.Close()
		u.ollama.Close()
		u.bedrock.Close()
		u.mistral.Close()
	})
	u.vllm.SetReasoning(fake.ReasoningField)
	u.qwen.SetReasoning(fake.ThinkTags)
	g := startGateway(t, fmt.Sprintf(`
storage: { data_dir: DATA_DIR }
providers:
  - { name: p-vllm, type: openai, base_url: %q, api_key: %q, hosting: self_hosted }
  - { name: p-qwen, type: openai, base_url: %q, api_key: %q, hosting: self_hosted,
      reasoning: { request: chat_template_kwargs, think_tags: true } }
  - { name: p-gemini, type: gemini, base_url: %q, api_key: %q }
  - { name: p-ollama, type: ollama, base_url: %q }
  - { name: p-bedrock, type: bedrock, base_url: %q, aws: { region: eu-central-1, access_key_id: %q, secret_access_key: %q } }
  - { name: p-mistral, type: mistral, base_url: %q, api_key: %q }
models:
  - { name: r-vllm, provider: p-vllm, upstream: deepseek-r1 }
  - { name: r-qwen, provider: p-qwen, upstream: qwen3 }
  - { name: r-gemini, provider: p-gemini, upstream: gemini-2.5-flash }
  - { name: r-ollama, provider: p-ollama, upstream: "qwen3:8b" }
  - { name: r-bedrock, provider: p-bedrock, upstream: "eu.anthropic.claude-sonnet-4-5-20250929-v1:0" }
  - { name: r-mistral, provider: p-mistral, upstream: mistral-small-latest }
`, u.vllm.URL, fake.APIKey, u.qwen.URL, fake.APIKey, u.gemini.URL, fake.APIKey, u.ollama.URL,
		u.bedrock.URL, fake.BedrockAccessKey, fake.BedrockSecretKey, u.mistral.URL, fake.APIKey), "FULCRUM_MASTER_KEY="+masterKey)
	return u, g
}

var reasoningModels = []string{"r-vllm", "r-qwen", "r-gemini", "r-ollama", "r-bedrock", "r-mistral"}

// reportsReasoningTokens says which upstreams count reasoning tokens
// apart: Ollama reports none, Bedrock's Converse usage has no such field
// (Claude's thinking is in outputTokens), and the Mistral fake reports
// none, as Mistral's reasoning reference shows none.
func reportsReasoningTokens(model string) bool {
	return model != "r-ollama" && model != "r-bedrock" && model != "r-mistral"
}

// lastBody is the last request an upstream fake received, decoded.
func (u *reasoningUpstreams) lastBody(t *testing.T, model string) map[string]any {
	t.Helper()
	var log *fake.Log
	switch model {
	case "r-vllm":
		log = &u.vllm.Log
	case "r-qwen":
		log = &u.qwen.Log
	case "r-gemini":
		log = &u.gemini.Log
	case "r-bedrock":
		log = &u.bedrock.Log
	case "r-mistral":
		log = &u.mistral.Log
	default:
		log = &u.ollama.Log
	}
	all := modelCalls(log.All())
	if len(all) == 0 {
		t.Fatalf("%s received nothing", model)
	}
	var m map[string]any
	if err := json.Unmarshal(all[len(all)-1].Body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkAsked asserts the upstream was asked to reason in its own terms.
func (u *reasoningUpstreams) checkAsked(t *testing.T, model, effort string) {
	t.Helper()
	b := u.lastBody(t, model)
	var got, want any
	switch model {
	case "r-vllm":
		got, want = b["reasoning_effort"], effort
	case "r-qwen":
		got, want = b["chat_template_kwargs"], map[string]any{"enable_thinking": true}
	case "r-gemini":
		gc, _ := b["generationConfig"].(map[string]any)
		got, want = gc["thinkingConfig"], map[string]any{"thinkingBudget": float64(2048), "includeThoughts": true}
	case "r-ollama":
		got, want = b["think"], true
	case "r-bedrock":
		got, want = b["additionalModelRequestFields"], map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": float64(2048)}}
	case "r-mistral":
		// Small 4 takes only none and high.
		got, want = b["reasoning_effort"], "high"
	}
	if mustJSON(got) != mustJSON(want) {
		t.Errorf("%s was asked %s, want %s", model, mustJSON(got), mustJSON(want))
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestReasoningAnthropicSDK(t *testing.T) {
	u, g := startReasoning(t)
	ac := anthropicClient(g)
	const prompt = "which is greater, 9.11 or 9.8?"
	for _, model := range reasoningModels {
		t.Run(model, func(t *testing.T) {
			params := anthropic.MessageNewParams{
				Model: anthropic.Model(model), MaxTokens: 4096,
				Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
			}
			msg, err := ac.Messages.New(ctxT(t), params)
			if err != nil {
				t.Fatal(err)
			}
			u.checkAsked(t, model, "low")
			checkThinking(t, msg, prompt)

			stream := ac.Messages.NewStreaming(ctxT(t), params)
			var acc anthropic.Message
			var deltas int
			for stream.Next() {
				ev := stream.Current()
				if err := acc.Accumulate(ev); err != nil {
					t.Fatal(err)
				}
				if ev.Type == "content_block_delta" && ev.Delta.Type == "thinking_delta" {
					deltas++
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if deltas == 0 {
				t.Error("no thinking_delta events")
			}
			checkThinking(t, &acc, prompt)
		})
	}
}

func checkThinking(t *testing.T, msg *anthropic.Message, prompt string) {
	t.Helper()
	if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[1].Type != "text" {
		t.Fatalf("content %+v", msg.Content)
	}
	if got := msg.Content[0].Thinking; got != fake.Thought(prompt) {
		t.Errorf("thinking %q, want %q", got, fake.Thought(prompt))
	}
	if got := msg.Content[1].Text; got != fake.Reply(prompt) {
		t.Errorf("text %q (the thought must not leak into it)", got)
	}
}

func TestReasoningOpenAIChat(t *testing.T) {
	u, g := startReasoning(t)
	oc := openaiClient(g)
	const prompt = "think about pong"
	for _, model := range reasoningModels {
		t.Run(model, func(t *testing.T) {
			params := openai.ChatCompletionNewParams{
				Model: model, ReasoningEffort: "low",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
			}
			resp, err := oc.Chat.Completions.New(ctxT(t), params)
			if err != nil {
				t.Fatal(err)
			}
			u.checkAsked(t, model, "low")
			// vLLM's answer passes through as it is ("reasoning"); the
			// others are translated (reasoning_content).
			field := "reasoning_content"
			if model == "r-vllm" {
				field = "reasoning"
			}
			m := resp.Choices[0].Message
			var rc string
			_ = json.Unmarshal([]byte(m.JSON.ExtraFields[field].Raw()), &rc)
			if rc != fake.Thought(prompt) || m.Content != fake.Reply(prompt) {
				t.Errorf("reasoning_content %q, content %q", rc, m.Content)
			}
			if reportsReasoningTokens(model) && resp.Usage.CompletionTokensDetails.ReasoningTokens != fake.ReasoningTokens {
				t.Errorf("reasoning tokens %d", resp.Usage.CompletionTokensDetails.ReasoningTokens)
			}

			stream := oc.Chat.Completions.NewStreaming(ctxT(t), params)
			var reasoning, text strings.Builder
			for stream.Next() {
				for _, ch := range stream.Current().Choices {
					var s string
					if f, ok := ch.Delta.JSON.ExtraFields[field]; ok && json.Unmarshal([]byte(f.Raw()), &s) == nil {
						reasoning.WriteString(s)
					}
					text.WriteString(ch.Delta.Content)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if reasoning.String() != fake.Thought(prompt) || text.String() != fake.Reply(prompt) {
				t.Errorf("streamed reasoning %q, text %q", reasoning.String(), text.String())
			}
		})
	}
}

func TestReasoningResponses(t *testing.T) {
	u, g := startReasoning(t)
	oc := openaiClient(g)
	const prompt = "reason about pong"
	for _, model := range reasoningModels {
		t.Run(model, func(t *testing.T) {
			params := responses.ResponseNewParams{
				Model: model, Reasoning: openai.ReasoningParam{Effort: openai.ReasoningEffortLow},
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(prompt)},
			}
			resp, err := oc.Responses.New(ctxT(t), params)
			if err != nil {
				t.Fatal(err)
			}
			u.checkAsked(t, model, "low")
			checkReasoningItem(t, resp, prompt)
			if reportsReasoningTokens(model) && resp.Usage.OutputTokensDetails.ReasoningTokens != fake.ReasoningTokens {
				t.Errorf("reasoning tokens %d", resp.Usage.OutputTokensDetails.ReasoningTokens)
			}

			st := oc.Responses.NewStreaming(ctxT(t), params)
			var reasoning strings.Builder
			var final responses.Response
			for st.Next() {
				ev := st.Current()
				switch ev.Type {
				case "response.reasoning_text.delta":
					reasoning.WriteString(ev.Delta)
				case "response.completed":
					final = ev.Response
				}
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
			if reasoning.String() != fake.Thought(prompt) {
				t.Errorf("streamed reasoning %q", reasoning.String())
			}
			checkReasoningItem(t, &final, prompt)
		})
	}
}

func checkReasoningItem(t *testing.T, resp *responses.Response, prompt string) {
	t.Helper()
	if len(resp.Output) != 2 || resp.Output[0].Type != "reasoning" || resp.Output[1].Type != "message" {
		t.Fatalf("output %s", mustJSON(resp.Output))
	}
	if c := resp.Output[0].Content; len(c) != 1 || c[0].Text != fake.Thought(prompt) {
		t.Errorf("reasoning item %s", mustJSON(resp.Output[0]))
	}
	if resp.OutputText() != fake.Reply(prompt) {
		t.Errorf("output text %q", resp.OutputText())
	}
}

// Claude Code asks for thinking on every request (for a model name it
// does not know, with the thought displayed): the self-hosted model is
// asked to reason, the agent shows the model's reasoning as a thinking
// block and its answer as text, and never sees <think> tags.
func TestClaudeCodeReasoning(t *testing.T) {
	claude := agentBin(t, "claude")
	u, g := startReasoning(t)
	for _, model := range []string{"r-vllm", "r-qwen"} {
		t.Run(model, func(t *testing.T) {
			work, home := t.TempDir(), t.TempDir()
			env := []string{
				"HOME=" + home, "ANTHROPIC_BASE_URL=" + g.URL, "ANTHROPIC_API_KEY=" + masterKey,
				"ANTHROPIC_MODEL=" + model, "ANTHROPIC_SMALL_FAST_MODEL=" + model,
				"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1",
			}
			const prompt = "[[plain]] reason then pong"
			out, err := agentRun(t, work, env, claude, "-p", prompt, "--model", model, "--output-format", "stream-json", "--verbose")
			if err != nil {
				t.Fatalf("claude: %v\n%s\ngateway log:\n%s", err, out, tail(g.Logs(), 20))
			}
			if !strings.Contains(out, "reason then pong") || !strings.Contains(out, `"type":"result"`) {
				t.Errorf("claude output lacks the answer:\n%s", out)
			}
			if !strings.Contains(out, `{"type":"thinking","thinking":"The user said: `) || !strings.Contains(out, `{"type":"text","text":"Hello! You said: `) {
				t.Errorf("claude output lacks the thinking block or the text block:\n%s", out)
			}
			if strings.Contains(out, "<think>") || strings.Contains(out, `"text":"The user said`) {
				t.Errorf("the thought leaked into claude's answer text:\n%s", out)
			}
			b := u.lastBody(t, model)
			if model == "r-vllm" && b["reasoning_effort"] != "high" {
				t.Errorf("vLLM was asked reasoning_effort %v, want high (output_config.effort)", b["reasoning_effort"])
			}
			if model == "r-qwen" && mustJSON(b["chat_template_kwargs"]) != `{"enable_thinking":true}` {
				t.Errorf("qwen was asked %v", b["chat_template_kwargs"])
			}
		})
	}
}

// Codex over a self-hosted reasoning model: the Responses translation
// gives it reasoning items, and its answer is the model's text alone.
func TestCodexReasoning(t *testing.T) {
	codex := agentBin(t, "codex")
	_, g := startReasoning(t)
	for _, model := range []string{"r-vllm", "r-qwen"} {
		t.Run(model, func(t *testing.T) {
			work, home := t.TempDir(), t.TempDir()
			if err := os.WriteFile(filepath.Join(home, "placeholder"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			env := []string{"HOME=" + home, "CODEX_HOME=" + home, "FULCRUM_KEY=" + masterKey}
			out, err := agentRun(t, work, env, codex, "exec", "--skip-git-repo-check", "--ephemeral", "--json",
				"-c", "model_provider=fulcrum",
				"-c", fmt.Sprintf(`model_providers.fulcrum={name="fulcrum",base_url=%q,env_key="FULCRUM_KEY",wire_api="responses"}`, g.URL+"/v1"),
				"-m", model, "[[plain]] reason then pong")
			if err != nil {
				t.Fatalf("codex: %v\n%s\ngateway log:\n%s", err, out, tail(g.Logs(), 20))
			}
			if !strings.Contains(out, `"text":"Hello! You said: [[plain]] reason then pong"`) || strings.Contains(out, "<think>") {
				t.Errorf("codex output:\n%s", out)
			}
			// The reasoning tokens reach the agent's own accounting.
			if !strings.Contains(out, fmt.Sprintf(`"reasoning_output_tokens":%d`, fake.ReasoningTokens)) {
				t.Errorf("codex did not see the reasoning tokens:\n%s", out)
			}
		})
	}
}

// TestBedrockThinkingToolRoundTrip drives a tool call with thinking to
// Claude on Bedrock through anthropic-sdk-go, streamed and not, and sends
// the assistant turn back as the SDK builds it: the thinking block with
// its signature must reach Bedrock as reasoningContent before the tool
// use, or the fake refuses the turn as Claude does.
func TestBedrockThinkingToolRoundTrip(t *testing.T) {
	u, g := startReasoning(t)
	ac := anthropicClient(g)
	const prompt = "What is the weather like in Paris today?"
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprintf("streamed=%v", streamed), func(t *testing.T) {
			params := anthropic.MessageNewParams{
				Model: "r-bedrock", MaxTokens: 4096, Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
				Tools:    []anthropic.ToolUnionParam{anthropicWeatherTool},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
			}
			var msg anthropic.Message
			if streamed {
				st := ac.Messages.NewStreaming(ctxT(t), params)
				for st.Next() {
					if err := msg.Accumulate(st.Current()); err != nil {
						t.Fatal(err)
					}
				}
				if err := st.Err(); err != nil {
					t.Fatal(err)
				}
			} else {
				m, err := ac.Messages.New(ctxT(t), params)
				if err != nil {
					t.Fatal(err)
				}
				msg = *m
			}
			if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[1].Type != "tool_use" {
				t.Fatalf("content %s", mustJSON(msg.Content))
			}
			if msg.Content[0].Signature != fake.BedrockSignature || msg.Content[0].Thinking != fake.Thought(prompt) {
				t.Errorf("thinking block %s", mustJSON(msg.Content[0]))
			}
			params.Messages = append(params.Messages, msg.ToParam(),
				anthropic.NewUserMessage(anthropic.NewToolResultBlock(msg.Content[1].ID, "22 degrees and sunny", false)))
			out, err := ac.Messages.New(ctxT(t), params)
			if err != nil {
				t.Fatalf("tool result: %v", err)
			}
			if text, _ := anthropicBlocks(out.Content); text != "Tool said: 22 degrees and sunny" {
				t.Errorf("after the tool result: %s", mustJSON(out.Content))
			}
			var sent struct {
				Messages []struct {
					Content []json.RawMessage `json:"content"`
				} `json:"messages"`
			}
			if err := json.Unmarshal([]byte(mustJSON(u.lastBody(t, "r-bedrock"))), &sent); err != nil || len(sent.Messages) != 3 {
				t.Fatalf("sent %v: %v", sent, err)
			}
			want := mustJSON(map[string]any{"reasoningContent": map[string]any{"reasoningText": map[string]any{"text": fake.Thought(prompt), "signature": fake.BedrockSignature}}})
			if got := string(sent.Messages[1].Content[0]); got != want {
				t.Errorf("assistant turn sent back starts with %s, want %s", got, want)
			}
		})
	}
}

// TestAzureReasoningEffort drives an Azure o4-mini deployment with
// openai-go's reasoning_effort and anthropic-sdk-go's thinking budget:
// the deployment gets reasoning_effort, and the reasoning tokens it
// reports reach the client, streamed and not.
func TestAzureReasoningEffort(t *testing.T) {
	az := fake.NewAzure(map[string]string{"o4-mini-eu": "o4-mini"})
	t.Cleanup(az.Close)
	g := startGateway(t, fmt.Sprintf(`
storage: { data_dir: DATA_DIR }
providers:
  - { name: p-azure, type: azure_openai, base_url: %q, api_key: %q, azure: { deployments: { o4-mini: o4-mini-eu } } }
models:
  - { name: r-azure, provider: p-azure, upstream: o4-mini }
`, az.URL, fake.APIKey), "FULCRUM_MASTER_KEY="+masterKey)
	sentEffort := func() any {
		all := modelCalls(az.Log.All())
		var b map[string]any
		_ = json.Unmarshal(all[len(all)-1].Body, &b)
		return b["reasoning_effort"]
	}
	const prompt = "think about Azure"
	oc := openaiClient(g)
	params := openai.ChatCompletionNewParams{
		Model: "r-azure", ReasoningEffort: "high",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}
	resp, err := oc.Chat.Completions.New(ctxT(t), params)
	if err != nil {
		t.Fatal(err)
	}
	if sentEffort() != "high" || resp.Choices[0].Message.Content != fake.Reply(prompt) ||
		resp.Usage.CompletionTokensDetails.ReasoningTokens != fake.ReasoningTokens {
		t.Errorf("sent %v; answer %q, usage %+v", sentEffort(), resp.Choices[0].Message.Content, resp.Usage)
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	st := oc.Chat.Completions.NewStreaming(ctxT(t), params)
	var reasoningTokens int64
	for st.Next() {
		if u := st.Current().Usage; u.TotalTokens > 0 {
			reasoningTokens = u.CompletionTokensDetails.ReasoningTokens
		}
	}
	if err := st.Err(); err != nil || reasoningTokens != fake.ReasoningTokens {
		t.Errorf("streamed reasoning tokens %d, err %v", reasoningTokens, err)
	}

	ac := anthropicClient(g)
	msg, err := ac.Messages.New(ctxT(t), anthropic.MessageNewParams{
		Model: "r-azure", MaxTokens: 4096, Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := anthropicBlocks(msg.Content); sentEffort() != "low" || text != fake.Reply(prompt) {
		t.Errorf("budget 2048 sent reasoning_effort %v; answer %q", sentEffort(), text)
	}
}

// TestDeepSeekThinkingToolRoundTrip is Claude Code's loop on a DeepSeek
// model in thinking mode: the answer to a tool-using turn carries
// reasoning_content, and DeepSeek refuses the next request unless that
// assistant turn carries it back. With reasoning.replay the gateway sends
// the thinking block the Anthropic client replays as reasoning_content;
// without it the upstream's 400 reaches the client.
func TestDeepSeekThinkingToolRoundTrip(t *testing.T) {
	ds := fake.NewOpenAI()
	t.Cleanup(ds.Close)
	ds.SetReasoning(fake.DeepSeek)
	g := startGateway(t, fmt.Sprintf(`
storage: { data_dir: DATA_DIR }
providers:
  - { name: p-ds, type: openai, base_url: %[1]q, api_key: %[2]q, hosting: self_hosted, reasoning: { replay: true } }
  - { name: p-ds-plain, type: openai, base_url: %[1]q, api_key: %[2]q, hosting: self_hosted }
models:
  - { name: ds, provider: p-ds, upstream: deepseek-v4-flash }
  - { name: ds-plain, provider: p-ds-plain, upstream: deepseek-v4-flash }
`, ds.URL, fake.APIKey), "FULCRUM_MASTER_KEY="+masterKey)
	ac := anthropicClient(g)
	const prompt = "What is the weather like in Paris today?"
	for _, model := range []string{"ds", "ds-plain"} {
		t.Run(model, func(t *testing.T) {
			params := anthropic.MessageNewParams{
				Model: anthropic.Model(model), MaxTokens: 4096, Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
				Tools:    []anthropic.ToolUnionParam{anthropicWeatherTool},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
			}
			msg, err := ac.Messages.New(ctxT(t), params)
			if err != nil {
				t.Fatal(err)
			}
			if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[1].Type != "tool_use" || msg.Content[0].Thinking != fake.Thought(prompt) {
				t.Fatalf("content %s", mustJSON(msg.Content))
			}
			params.Messages = append(params.Messages, msg.ToParam(),
				anthropic.NewUserMessage(anthropic.NewToolResultBlock(msg.Content[1].ID, "22 degrees and sunny", false)))
			out, err := ac.Messages.New(ctxT(t), params)
			if model == "ds-plain" {
				var apiErr *anthropic.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(err.Error(), "reasoning_content") {
					t.Fatalf("without replay: %v, want DeepSeek's 400 about reasoning_content", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("tool result: %v", err)
			}
			if text, _ := anthropicBlocks(out.Content); text != "Tool said: 22 degrees and sunny" {
				t.Errorf("after the tool result: %s", mustJSON(out.Content))
			}
			all := ds.Log.All()
			var sent struct {
				Messages []map[string]json.RawMessage `json:"messages"`
			}
			if err := json.Unmarshal(all[len(all)-1].Body, &sent); err != nil || len(sent.Messages) != 3 {
				t.Fatalf("sent %s: %v", all[len(all)-1].Body, err)
			}
			if got, want := string(sent.Messages[1]["reasoning_content"]), mustJSON(fake.Thought(prompt)); got != want {
				t.Errorf("assistant turn sent back with reasoning_content %s, want %s", got, want)
			}
		})
	}
}
