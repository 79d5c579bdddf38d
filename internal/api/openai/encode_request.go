package openai

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// RequestOptions adapt an egress request to an upstream's dialect.
type RequestOptions struct {
	// MaxCompletionTokens sends the token limit as max_completion_tokens,
	// which OpenAI's reasoning models require, instead of max_tokens, which
	// every OpenAI-compatible server (vLLM, llama.cpp, TGI) understands.
	// Default false.
	MaxCompletionTokens bool
	// Reasoning is how req.Reasoning is sent. Default ReasoningOmit.
	Reasoning ReasoningMode
	// AllEfforts sends every OpenAI effort level as it is ("none" and
	// "xhigh" included). Otherwise levels are clamped to low, medium and
	// high, which is all vLLM accepts, and "none" is not sent.
	AllEfforts bool
	// ReplayReasoning sends an assistant message's earlier reasoning back
	// as reasoning_content (the text of its thoughts; redacted ones have
	// none). DeepSeek's thinking mode requires it on turns that called
	// tools; OpenAI itself does not take the field. Default false.
	ReplayReasoning bool
}

// ReasoningMode says how an upstream is asked to reason.
type ReasoningMode int

const (
	// ReasoningOmit sends nothing: the adapter decided req.Reasoning is
	// not for this upstream.
	ReasoningOmit ReasoningMode = iota
	// ReasoningEffort sends reasoning_effort: the request's effort, or the
	// level of its thinking budget (llm.EffortForBudget). Adaptive
	// thinking without an effort and disabled thinking send nothing: the
	// model's default is what they ask for or the nearest the field has
	// (OpenAI's "none" is not accepted by every reasoning model).
	ReasoningEffort
	// ReasoningTemplate sends chat_template_kwargs: {"enable_thinking":
	// bool}, what vLLM and SGLang pass to Qwen3's chat template.
	ReasoningTemplate
)

// EncodeChatRequest encodes a canonical request for an OpenAI-compatible
// upstream with default options. req.Model is already the upstream name.
func EncodeChatRequest(req *llm.ChatRequest) ([]byte, error) {
	return EncodeChatRequestWith(req, RequestOptions{})
}

// EncodeChatRequestWith encodes a canonical request for an
// OpenAI-compatible upstream. A streaming request always asks for
// stream_options.include_usage, because Fulcrum meters every stream
// whatever the client asked for (the stream encoder drops the usage chunk
// again for clients that did not want it).
func EncodeChatRequestWith(req *llm.ChatRequest, opt RequestOptions) ([]byte, error) {
	for _, f := range [...]*float64{req.Temperature, req.TopP, req.PresencePenalty, req.FrequencyPenalty} {
		if f != nil && !finite(*f) {
			return nil, llm.Errorf("", "sampling parameters must be finite numbers")
		}
	}
	if raw := req.Extra[ExtraPrefill]; raw != nil {
		// An Anthropic client's prefill: the answer must continue the
		// final assistant text. Chat Completions has no such turn (a model
		// answers it with a new message, which the client would append to
		// its prefill), so the request is refused rather than answered
		// differently.
		var path string
		_ = json.Unmarshal(raw, &path)
		e := llm.Errorf(path, "%s: a final assistant message (prefill) is not supported by OpenAI-compatible upstreams: the answer would not continue it", path)
		e.Code = "unsupported_parameter"
		return nil, e
	}
	b := make([]byte, 0, 256+requestTextLen(req))
	b = append(b, '{')
	b = appendStringField(b, "model", req.Model)
	b = append(appendKey(b, "messages"), '[')
	msgs := toolImagesToUser(req.Messages)
	for i := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendMessage(b, &msgs[i], i, opt.ReplayReasoning); err != nil {
			return nil, err
		}
	}
	b = append(b, ']')
	if len(req.Tools) > 0 {
		b = append(appendKey(b, "tools"), '[')
		for i := range req.Tools {
			t := &req.Tools[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":"function","function":{`...)
			b = appendStringField(b, "name", t.Name)
			if t.Description != "" {
				b = appendStringField(b, "description", t.Description)
			}
			if len(t.Parameters) > 0 {
				var err error
				if b, err = appendJSON(appendKey(b, "parameters"), t.Parameters, "tools["+itoa(i)+"].parameters"); err != nil {
					return nil, err
				}
			}
			if t.Strict != nil {
				b = appendBoolField(b, "strict", *t.Strict)
			}
			b = append(b, '}', '}')
		}
		b = append(b, ']')
	}
	// Without tools, tool_choice and parallel_tool_calls ask for nothing
	// (an Anthropic client may send them so) and OpenAI refuses them.
	if tc := req.ToolChoice; tc != nil && len(req.Tools) > 0 {
		b = appendKey(b, "tool_choice")
		if tc.Mode == llm.ToolChoiceTool {
			b = append(b, `{"type":"function","function":{"name":`...)
			b = appendString(b, tc.Name)
			b = append(b, '}', '}')
		} else {
			b = appendString(b, string(tc.Mode))
		}
	}
	if req.ParallelToolCalls != nil && len(req.Tools) > 0 {
		b = appendBoolField(b, "parallel_tool_calls", *req.ParallelToolCalls)
	}
	if rf := req.ResponseFormat; rf != nil {
		b = append(appendKey(b, "response_format"), '{')
		b = appendStringField(b, "type", rf.Type)
		if rf.Type == "json_schema" {
			name := rf.Name
			if name == "" {
				// OpenAI requires a name; formats without one (Gemini's
				// responseSchema) get a neutral default.
				name = "response"
			}
			b = append(appendKey(b, "json_schema"), '{')
			b = appendStringField(b, "name", name)
			if len(rf.Schema) > 0 {
				var err error
				if b, err = appendJSON(appendKey(b, "schema"), rf.Schema, "response_format.json_schema.schema"); err != nil {
					return nil, err
				}
			}
			if rf.Strict != nil {
				b = appendBoolField(b, "strict", *rf.Strict)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if req.MaxTokens != nil {
		key := "max_tokens"
		if opt.MaxCompletionTokens {
			key = "max_completion_tokens"
		}
		b = appendIntField(b, key, int64(*req.MaxTokens))
	}
	b = appendFloatField(b, "temperature", req.Temperature)
	b = appendFloatField(b, "top_p", req.TopP)
	if req.TopK != nil {
		b = appendIntField(b, "top_k", int64(*req.TopK))
	}
	if len(req.Stop) > 0 {
		b = append(appendKey(b, "stop"), '[')
		for i, s := range req.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if req.Seed != nil {
		b = appendIntField(b, "seed", *req.Seed)
	}
	b = appendFloatField(b, "presence_penalty", req.PresencePenalty)
	b = appendFloatField(b, "frequency_penalty", req.FrequencyPenalty)
	if req.N > 1 {
		b = appendIntField(b, "n", int64(req.N))
	}
	if req.User != "" {
		b = appendStringField(b, "user", req.User)
	}
	if tier := serviceTier(req); tier != "" {
		b = appendStringField(b, "service_tier", tier)
	}
	if k := req.Extra[ExtraPromptCacheKey]; k != nil {
		var err error
		if b, err = appendJSON(appendKey(b, "prompt_cache_key"), k, "prompt_cache_key"); err != nil {
			return nil, err
		}
	}
	b = appendReasoning(b, req.Reasoning, opt)
	if req.Stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(b, '}'), nil
}

func appendReasoning(b []byte, r *llm.Reasoning, opt RequestOptions) []byte {
	if r == nil {
		return b
	}
	switch opt.Reasoning {
	case ReasoningEffort:
		if r.Disabled {
			return b
		}
		e := r.EffortLevel()
		if !opt.AllEfforts {
			switch e {
			case "none":
				e = ""
			case "minimal":
				e = "low"
			case "xhigh":
				e = "high"
			}
		}
		if e != "" {
			b = appendStringField(b, "reasoning_effort", e)
		}
	case ReasoningTemplate:
		if r.On() || r.Disabled || r.Effort == "none" {
			b = append(b, `,"chat_template_kwargs":{"enable_thinking":`...)
			b = strconv.AppendBool(b, r.On())
			b = append(b, '}')
		}
	}
	return b
}

func appendFloatField(b []byte, key string, f *float64) []byte {
	if f == nil {
		return b
	}
	return appendFloat(appendKey(b, key), *f, 64)
}

// appendJSON appends a raw JSON value after checking it, so a bad schema
// fails here with a field path rather than upstream with a vague 400.
func appendJSON(b []byte, raw json.RawMessage, path string) ([]byte, error) {
	if !json.Valid(raw) {
		return nil, llm.Errorf(path, "%s is not valid JSON", path)
	}
	return append(b, raw...), nil
}

func requestTextLen(req *llm.ChatRequest) int {
	n := 0
	for i := range req.Messages {
		for _, p := range req.Messages[i].Content {
			n += len(p.Text) + 16
			if p.Image != nil {
				n += len(p.Image.URL) + len(p.Image.Data) + 64
			}
		}
	}
	for i := range req.Tools {
		n += len(req.Tools[i].Description) + len(req.Tools[i].Parameters) + 64
	}
	return n
}

func appendMessage(b []byte, m *llm.Message, i int, replayReasoning bool) ([]byte, error) {
	b = append(b, '{')
	switch m.Role {
	case llm.RoleSystem, llm.RoleUser, llm.RoleAssistant, llm.RoleTool:
		b = appendStringField(b, "role", string(m.Role))
	default:
		return nil, llm.Errorf("messages["+itoa(i)+"].role", "unknown role %q", m.Role)
	}
	b = appendKey(b, "content")
	m = m.ErrorMarked()
	switch {
	case len(m.Content) == 0 && m.Role == llm.RoleAssistant && len(m.ToolCalls) > 0:
		b = append(b, "null"...)
	case textOnly(m.Content):
		b = appendString(b, joinText(m.Content))
	case m.Role != llm.RoleUser:
		// OpenAI accepts images only from the user.
		e := llm.Errorf(fmt.Sprintf("messages[%d].content", i), "images in %s messages are not supported by OpenAI-compatible upstreams", m.Role)
		e.Code = "unsupported_parameter"
		return nil, e
	default:
		b = append(b, '[')
		for j, p := range m.Content {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendPart(b, &p)
		}
		b = append(b, ']')
	}
	if m.Name != "" && m.Role != llm.RoleTool {
		b = appendStringField(b, "name", m.Name)
	}
	if m.Role == llm.RoleTool {
		b = appendStringField(b, "tool_call_id", m.ToolCallID)
	}
	if replayReasoning && m.Role == llm.RoleAssistant && len(m.Thoughts) > 0 {
		var n int
		for _, t := range m.Thoughts {
			n += len(t.Text)
		}
		if n > 0 {
			text := make([]byte, 0, n)
			for _, t := range m.Thoughts {
				text = append(text, t.Text...)
			}
			b = appendStringField(b, "reasoning_content", string(text))
		}
	}
	if len(m.ToolCalls) > 0 && m.Role == llm.RoleAssistant {
		b = append(appendKey(b, "tool_calls"), '[')
		for j, tc := range m.ToolCalls {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendStringField(b, "id", tc.ID)
			b = appendStringField(b, "type", "function")
			b = append(appendKey(b, "function"), '{')
			b = appendStringField(b, "name", tc.Name)
			args := tc.Arguments
			if args == "" {
				args = "{}"
			}
			b = appendStringField(b, "arguments", args)
			b = append(b, '}', '}')
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func textOnly(parts []llm.Part) bool {
	for _, p := range parts {
		if p.Type != llm.PartText {
			return false
		}
	}
	return true
}

func appendPart(b []byte, p *llm.Part) []byte {
	if p.Type != llm.PartImage || p.Image == nil {
		b = append(b, `{"type":"text","text":`...)
		b = appendString(b, p.Text)
		return append(b, '}')
	}
	img := p.Image
	b = append(b, `{"type":"image_url","image_url":{"url":`...)
	if img.URL != "" {
		b = appendString(b, img.URL)
	} else {
		b = append(b, `"data:`...)
		b = appendStringBody(b, img.MediaType)
		b = append(b, ";base64,"...)
		b = appendStringBody(b, img.Data)
		b = append(b, '"')
	}
	if img.Detail != "" {
		b = appendStringField(b, "detail", img.Detail)
	}
	return append(b, '}', '}')
}

// appendStringBody appends s escaped as in a JSON string, without quotes.
func appendStringBody(b []byte, s string) []byte {
	start := len(b)
	b = appendString(b, s)
	n := copy(b[start:], b[start+1:len(b)-1])
	return b[:start+n]
}

// Keys of llm.ChatRequest.Extra shared with the anthropic package (see
// anthropic.ExtraPrefill and anthropic.ExtraServiceTier).
const (
	ExtraPrefill     = "prefill"
	ExtraServiceTier = "service_tier"
	// ExtraPromptCacheKey is an OpenAI client's prompt_cache_key (a JSON
	// string), sent on to OpenAI-format targets.
	ExtraPromptCacheKey = "prompt_cache_key"
)

// serviceTier is the service_tier to send: "default" for OpenAI's own
// "default" and Anthropic's "standard_only" (standard capacity only).
// "auto" is not sent: it is OpenAI's default, and servers that are not
// OpenAI's may not know the field.
func serviceTier(req *llm.ChatRequest) string {
	switch string(req.Extra[ExtraServiceTier]) {
	case `"default"`, `"standard_only"`:
		return "default"
	}
	return ""
}

// joinText is the text of text parts as one string, the parts separated
// by a newline as vLLM joins them: an Anthropic tool result or message of
// several text blocks must not run their words together.
func joinText(parts []llm.Part) string {
	if len(parts) == 1 {
		return parts[0].Text
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

// toolImagesToUser moves the images of tool results into a user message
// after them. Chat Completions takes images only from the user, and
// tools return them: Claude Code's Read on a screenshot, Codex's
// view_image. Each tool message keeps its text and says where its images
// went; the user message that follows the run of tool messages names the
// call each image came from. msgs is returned as it is when no tool
// message holds an image.
func toolImagesToUser(msgs []llm.Message) []llm.Message {
	has := false
	for i := range msgs {
		if msgs[i].Role == llm.RoleTool && !textOnly(msgs[i].Content) {
			has = true
			break
		}
	}
	if !has {
		return msgs
	}
	out := make([]llm.Message, 0, len(msgs)+2)
	var images []llm.Part
	for i := range msgs {
		m := msgs[i]
		if m.Role == llm.RoleTool && !textOnly(m.Content) {
			text := make([]llm.Part, 0, len(m.Content)+1)
			n := 0
			for _, p := range m.Content {
				if p.Type == llm.PartText {
					text = append(text, p)
					continue
				}
				if n == 0 {
					images = append(images, llm.Part{Type: llm.PartText, Text: "Images returned by tool call " + m.ToolCallID + ":"})
				}
				images = append(images, p)
				n++
			}
			m.Content = append(text, llm.Part{Type: llm.PartText, Text: "(" + strconv.Itoa(n) + " image(s) returned; they follow in the next user message)"})
		}
		out = append(out, m)
		if len(images) > 0 && (i == len(msgs)-1 || msgs[i+1].Role != llm.RoleTool) {
			out = append(out, llm.Message{Role: llm.RoleUser, Content: images})
			images = nil
		}
	}
	return out
}
