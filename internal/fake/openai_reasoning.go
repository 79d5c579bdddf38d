package fake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Reasoning is how the OpenAI fake plays a self-hosted reasoning model
// (SetReasoning). Each mode answers chat completions as that server does,
// with the thought Thought(text) before the convention's answer:
//
//   - ReasoningContent: message.reasoning_content, and streamed
//     delta.reasoning_content before the content deltas — the DeepSeek
//     API (https://api-docs.deepseek.com/guides/reasoning_model), vLLM
//     before 0.11 and SGLang with a reasoning parser;
//   - ReasoningField: the same under "reasoning", vLLM's name since 0.11
//     (https://docs.vllm.ai/en/latest/features/reasoning_outputs/);
//   - DeepSeek: ReasoningContent, and DeepSeek's thinking-mode rule for
//     tool calls: an assistant message with tool_calls must carry back
//     the reasoning_content it was answered with, or the request is a 400
//     (https://api-docs.deepseek.com/guides/thinking_mode, "tool calls";
//     the message wording here is the fake's);
//   - ThinkTags: "<think>\n...\n</think>\n\n" at the start of the content,
//     what a Qwen3 or DeepSeek-R1 server without a reasoning parser
//     returns; streamed in 5-character pieces, so the tags are cut
//     across chunks.
//
// Usage then reports completion_tokens_details.reasoning_tokens =
// ReasoningTokens. The thought is left out, as Qwen3 leaves it out, when
// the request says chat_template_kwargs.enable_thinking: false or
// reasoning_effort: "none"; a reasoning_effort other than low, medium or
// high is a 400, as vLLM's request validation makes it.
type Reasoning string

const (
	ReasoningContent Reasoning = "reasoning_content"
	ReasoningField   Reasoning = "reasoning"
	DeepSeek         Reasoning = "deepseek"
	ThinkTags        Reasoning = "think_tags"
)

// ReasoningTokens is the reasoning_tokens the fake reports in its
// reasoning modes (part of OutputTokens).
const ReasoningTokens = 5

// Thought is the reasoning the fake's reasoning modes give for a prompt.
func Thought(text string) string { return "The user said: " + text + ". I will greet them." }

// SetReasoning switches the fake into a reasoning mode ("" switches it
// back to a plain model). Safe to call while serving.
func (f *OpenAI) SetReasoning(m Reasoning) { f.reasoning.Store(m) }

// ReasoningMode is the current mode.
func (f *OpenAI) ReasoningMode() Reasoning {
	m, _ := f.reasoning.Load().(Reasoning)
	return m
}

// reasoningEffortOK answers vLLM's 400 for an effort it does not know.
func reasoningEffortOK(w http.ResponseWriter, req *openaiRequest) bool {
	if req.ReasoningEffort == nil {
		return true
	}
	switch *req.ReasoningEffort {
	case "low", "medium", "high":
		return true
	}
	openaiError(w, http.StatusBadRequest, "1 validation error: reasoning_effort: Input should be 'low', 'medium' or 'high'", "BadRequestError", "reasoning_effort", "")
	return false
}

// reasoningThought is the thought for a request, "" when the mode is off
// or the request turned thinking off.
func reasoningThought(m Reasoning, req *openaiRequest, text string) string {
	if m == "" || req.ReasoningEffort != nil && *req.ReasoningEffort == "none" {
		return ""
	}
	var kw struct {
		EnableThinking *bool `json:"enable_thinking"`
	}
	if len(req.ChatTemplateKwargs) > 0 && json.Unmarshal(req.ChatTemplateKwargs, &kw) == nil && kw.EnableThinking != nil && !*kw.EnableThinking {
		return ""
	}
	return Thought(text)
}

// setThought puts a thought in the field of the mode.
func setThought(m Reasoning, thought string, reasoningContent, reasoning **string) {
	if thought == "" {
		return
	}
	switch m {
	case ReasoningContent, DeepSeek:
		*reasoningContent = &thought
	case ReasoningField:
		*reasoning = &thought
	}
}

// reasoningUsage is the convention's usage, with reasoning tokens when
// there was a thought.
func reasoningUsage(thought string) *oaiUsage {
	u := fakeUsage()
	if thought != "" {
		u.CompletionTokensDetails.ReasoningTokens = ReasoningTokens
	}
	return u
}

// splitRunes cuts s into pieces of up to n runes.
func splitRunes(s string, n int) []string {
	var out []string
	for s != "" {
		i, k := 0, 0
		for i < len(s) && k < n {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			k++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

// deepSeekReplayOK answers DeepSeek's 400 for an assistant tool-call turn
// sent back without its reasoning_content.
func deepSeekReplayOK(w http.ResponseWriter, req *openaiRequest) bool {
	for i, m := range req.Messages {
		if m.Role != "assistant" || len(m.ToolCalls) == 0 || string(m.ToolCalls) == "null" || string(m.ToolCalls) == "[]" {
			continue
		}
		if m.ReasoningContent == nil || *m.ReasoningContent == "" {
			openaiError(w, http.StatusBadRequest, "Missing `reasoning_content` field in the assistant message at message index "+strconv.Itoa(i)+": in thinking mode the reasoning of a turn with tool calls must be passed back", "invalid_request_error", "messages", "")
			return false
		}
	}
	return true
}
