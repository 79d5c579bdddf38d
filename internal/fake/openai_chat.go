package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// openaiRequest is the part of a chat completion request the fake reads.
type openaiRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role             string          `json:"role"`
		Content          json.RawMessage `json:"content"`
		ToolCalls        json.RawMessage `json:"tool_calls"`
		ReasoningContent *string         `json:"reasoning_content"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	N      int  `json:"n"`
	Stream bool `json:"stream"`
	// Reasoning controls (openai_reasoning.go).
	ReasoningEffort    *string         `json:"reasoning_effort"`
	ChatTemplateKwargs json.RawMessage `json:"chat_template_kwargs"`
	StreamOptions      *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

// openaiText is a message content's text: the string, or its text parts.
func openaiText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Wire shapes of answers, in OpenAI's field order.
type (
	oaiFunction struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	}
	oaiToolCall struct {
		Index    *int        `json:"index,omitempty"`
		ID       string      `json:"id,omitempty"`
		Type     string      `json:"type,omitempty"`
		Function oaiFunction `json:"function"`
	}
	oaiMessage struct {
		Role      string        `json:"role,omitempty"`
		Content   *string       `json:"content"`
		Refusal   *string       `json:"refusal"`
		ToolCalls []oaiToolCall `json:"tool_calls,omitempty"`
		// Reasoning of the fake's reasoning modes (openai_reasoning.go).
		ReasoningContent *string `json:"reasoning_content,omitempty"`
		Reasoning        *string `json:"reasoning,omitempty"`
	}
	oaiChoice struct {
		Index        int         `json:"index"`
		Message      *oaiMessage `json:"message,omitempty"`
		Delta        *oaiDelta   `json:"delta,omitempty"`
		Logprobs     *struct{}   `json:"logprobs"`
		FinishReason *string     `json:"finish_reason"`
	}
	oaiDelta struct {
		Role             string        `json:"role,omitempty"`
		Content          *string       `json:"content,omitempty"`
		Refusal          *string       `json:"refusal,omitempty"`
		ToolCalls        []oaiToolCall `json:"tool_calls,omitempty"`
		ReasoningContent *string       `json:"reasoning_content,omitempty"`
		Reasoning        *string       `json:"reasoning,omitempty"`
	}
	oaiUsage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
			AudioTokens  int `json:"audio_tokens"`
		} `json:"prompt_tokens_details"`
		CompletionTokensDetails struct {
			ReasoningTokens          int `json:"reasoning_tokens"`
			AudioTokens              int `json:"audio_tokens"`
			AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
			RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
		} `json:"completion_tokens_details"`
	}
	oaiCompletion struct {
		ID                string      `json:"id"`
		Object            string      `json:"object"`
		Created           int64       `json:"created"`
		Model             string      `json:"model"`
		Choices           []oaiChoice `json:"choices"`
		Usage             *oaiUsage   `json:"usage,omitempty"`
		ServiceTier       string      `json:"service_tier"`
		SystemFingerprint string      `json:"system_fingerprint"`
	}
	// oaiChunk differs from oaiCompletion in that usage, when the client
	// asked for it, is null rather than absent on all but the last chunk.
	oaiChunk struct {
		ID                string      `json:"id"`
		Object            string      `json:"object"`
		Created           int64       `json:"created"`
		Model             string      `json:"model"`
		ServiceTier       string      `json:"service_tier"`
		SystemFingerprint string      `json:"system_fingerprint"`
		Choices           []oaiChoice `json:"choices"`
		Usage             any         `json:"usage,omitempty"`
	}
)

// fakeUsage is the convention's usage.
func fakeUsage() *oaiUsage {
	return &oaiUsage{PromptTokens: InputTokens, CompletionTokens: OutputTokens, TotalTokens: InputTokens + OutputTokens}
}

// nullUsage marshals as null where usage is asked for but not yet known.
type nullUsage struct{}

func (nullUsage) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func openaiPtr[T any](v T) *T { return &v }

func (f *OpenAI) chat(w http.ResponseWriter, r *http.Request, body []byte, n int64) {
	var req openaiRequest
	if err := json.Unmarshal(body, &req); err != nil {
		openaiParseError(w)
		return
	}
	switch {
	case req.Model == "":
		openaiError(w, http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", "", "")
		return
	case len(req.Messages) == 0:
		openaiError(w, http.StatusBadRequest, "Missing required parameter: 'messages'.", "invalid_request_error", "messages", "missing_required_parameter")
		return
	case req.StreamOptions != nil && !req.Stream:
		openaiError(w, http.StatusBadRequest, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "invalid_request_error", "stream_options", "invalid_value")
		return
	}
	if n := estimateTokens(body); n > OpenAIContextWindow {
		openaiError(w, http.StatusBadRequest, fmt.Sprintf("This model's maximum context length is %d tokens. However, your messages resulted in %d tokens. Please reduce the length of the messages.", OpenAIContextWindow, n),
			"invalid_request_error", "messages", "context_length_exceeded")
		return
	}
	// The scenario is read from the last message that is not a system
	// instruction: agents append system messages after the user's turn.
	last := req.Messages[len(req.Messages)-1]
	for i := len(req.Messages) - 1; i > 0 && isSystemRole(last.Role); i-- {
		last = req.Messages[i-1]
	}
	text := openaiText(last.Content)
	if openaiScenario(w, r, text, req.Model) {
		return
	}
	id := "chatcmpl-fake" + strconv.FormatInt(n, 10)
	// The answer: text, or tool calls.
	var answer string
	var calls []oaiToolCall
	switch {
	case last.Role == "tool":
		answer = "Tool said: " + text
	case last.Role == "user" && wantsCall(text, firstOpenAITool(&req)):
		name, args, _ := ToolCall(text, firstOpenAITool(&req))
		calls = []oaiToolCall{{ID: "call_fake" + strconv.FormatInt(n, 10) + "_0", Type: "function", Function: oaiFunction{Name: name, Arguments: args}}}
		if strings.Contains(text, "[[parallel]]") {
			calls = append(calls, oaiToolCall{ID: "call_fake" + strconv.FormatInt(n, 10) + "_1", Type: "function", Function: oaiFunction{Name: name, Arguments: ToolArgs2}})
		}
	default:
		answer = Reply(text)
	}
	if rf := req.ResponseFormat; calls == nil && rf != nil && rf.Type == "json_schema" && rf.JSONSchema != nil {
		answer = SchemaAnswer(rf.JSONSchema.Schema, answer)
	}
	finish := "stop"
	if calls != nil {
		finish = "tool_calls"
	}
	mode := f.ReasoningMode()
	if mode != "" && !reasoningEffortOK(w, &req) {
		return
	}
	if mode == DeepSeek && !deepSeekReplayOK(w, &req) {
		return
	}
	thought := reasoningThought(mode, &req, text)
	if mode == ThinkTags && thought != "" && calls == nil {
		answer = "<think>\n" + thought + "\n</think>\n\n" + answer
	}
	if req.Stream {
		openaiStream(w, &req, id, text, answer, calls, finish, mode, thought)
		return
	}
	if strings.Contains(text, "[[malformed]]") {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"` + id + `","object":"chat.completion","choices":[{"index":0,"message":`))
		return
	}
	msg := &oaiMessage{Role: "assistant", ToolCalls: calls}
	if calls == nil {
		msg.Content = &answer
	}
	setThought(mode, thought, &msg.ReasoningContent, &msg.Reasoning)
	resp := oaiCompletion{ID: id, Object: "chat.completion", Created: OpenAICreated, Model: req.Model,
		Usage: reasoningUsage(thought), ServiceTier: "default", SystemFingerprint: "fp_fake"}
	for i := range max(req.N, 1) {
		resp.Choices = append(resp.Choices, oaiChoice{Index: i, Message: msg, FinishReason: &finish})
	}
	b, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if strings.Contains(text, "[[cut]]") {
		_, _ = w.Write(b[:len(b)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // close the connection mid-body
	}
	_, _ = w.Write(b)
}

// openaiStream writes an answer as chat.completion.chunk events.
// https://platform.openai.com/docs/api-reference/chat-streaming
func openaiStream(w http.ResponseWriter, req *openaiRequest, id, text, answer string, calls []oaiToolCall, finish string, mode Reasoning, thought string) {
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	send := func(delta *oaiDelta, finish *string) {
		c := oaiChunk{ID: id, Object: "chat.completion.chunk", Created: OpenAICreated, Model: req.Model,
			ServiceTier: "default", SystemFingerprint: "fp_fake",
			Choices: []oaiChoice{{Delta: delta, FinishReason: finish}}}
		if includeUsage {
			c.Usage = nullUsage{}
		}
		b, _ := json.Marshal(c)
		_, _ = w.Write(append(append([]byte("data: "), b...), '\n', '\n'))
		fl.Flush()
	}
	raw := func(s string) {
		_, _ = w.Write([]byte("data: " + s + "\n\n"))
		fl.Flush()
	}

	first := &oaiDelta{Role: "assistant", Content: openaiPtr(""), Refusal: nil}
	if calls != nil {
		first.Content = nil
	}
	switch {
	case strings.Contains(text, "[[malformed]]"):
		send(first, nil)
		raw(`{"id":"` + id + `","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel`)
		raw("[DONE]")
		return
	case strings.Contains(text, "[[midstream-error]]"):
		send(first, nil)
		send(&oaiDelta{Content: openaiPtr("Hello")}, nil)
		raw(string(openaiErrorBody("The server had an error while processing your request. Sorry about that!", "server_error", "", "")))
		return
	}
	if thought != "" && mode != ThinkTags {
		send(first, nil)
		first = &oaiDelta{}
		for _, p := range openaiSplitWords(thought) {
			d := &oaiDelta{}
			setThought(mode, p, &d.ReasoningContent, &d.Reasoning)
			send(d, nil)
		}
	}
	if calls == nil {
		if first.Role != "" || first.Content != nil {
			send(first, nil)
		}
		pieces := openaiSplitWords(answer)
		if mode == ThinkTags {
			// Tags cut across chunks, as token streams cut them.
			pieces = splitRunes(answer, 5)
		}
		if strings.Contains(text, "[[cut]]") {
			for _, p := range pieces[:min(2, len(pieces))] {
				send(&oaiDelta{Content: openaiPtr(p)}, nil)
			}
			panic(http.ErrAbortHandler) // close the connection without [DONE]
		}
		for _, p := range pieces {
			send(&oaiDelta{Content: openaiPtr(p)}, nil)
		}
	} else {
		for i, c := range calls {
			// The first delta of a call names it, with empty arguments;
			// the arguments follow in pieces.
			head := oaiToolCall{Index: openaiPtr(i), ID: c.ID, Type: "function", Function: oaiFunction{Name: c.Function.Name}}
			d := &oaiDelta{ToolCalls: []oaiToolCall{head}}
			if i == 0 {
				d.Role = first.Role
			}
			send(d, nil)
			for _, p := range openaiSplitArgs(c.Function.Arguments) {
				send(&oaiDelta{ToolCalls: []oaiToolCall{{Index: openaiPtr(i), Function: oaiFunction{Arguments: p}}}}, nil)
			}
		}
	}
	send(&oaiDelta{}, &finish)
	if includeUsage {
		b, _ := json.Marshal(oaiChunk{ID: id, Object: "chat.completion.chunk", Created: OpenAICreated, Model: req.Model,
			ServiceTier: "default", SystemFingerprint: "fp_fake", Choices: []oaiChoice{}, Usage: reasoningUsage(thought)})
		raw(string(b))
	}
	raw("[DONE]")
}

// openaiSplitWords splits s after each space, so the pieces join back to s.
func openaiSplitWords(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// openaiSplitArgs cuts tool arguments into pieces of up to 12 bytes, as models
// stream them.
func openaiSplitArgs(s string) []string {
	var out []string
	for len(s) > 12 {
		out = append(out, s[:12])
		s = s[12:]
	}
	return append(out, s)
}

func firstOpenAITool(req *openaiRequest) string {
	if len(req.Tools) == 0 {
		return ""
	}
	return req.Tools[0].Function.Name
}
