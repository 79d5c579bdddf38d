package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Wire types for decoding. Polymorphic fields (content, stop, tool_choice)
// have small UnmarshalJSON methods or stay json.RawMessage; nothing on the
// hot path decodes into map[string]any.

// chatRequest is the body of POST /v1/chat/completions.
// https://platform.openai.com/docs/api-reference/chat/create
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []message       `json:"messages"`
	Tools               []tool          `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
	ResponseFormat      *responseFormat `json:"response_format"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	// TopK is not OpenAI's, but vLLM, llama.cpp and LM Studio accept it.
	TopK             *int          `json:"top_k"`
	Stop             stop          `json:"stop"`
	Seed             *int64        `json:"seed"`
	PresencePenalty  *float64      `json:"presence_penalty"`
	FrequencyPenalty *float64      `json:"frequency_penalty"`
	N                *int          `json:"n"`
	User             string        `json:"user"`
	Stream           bool          `json:"stream"`
	StreamOptions    *streamOption `json:"stream_options"`

	// Valid OpenAI parameters the canonical model does not carry. They are
	// only detected (and named in ChatRequest.Unsupported), never decoded.
	// Not metadata: Fulcrum honours it itself, as the request's cost
	// attribution tags (gateway/tags.go), on every target; what it means
	// to OpenAI (stored completions) needs store, which is listed.
	Logprobs         json.RawMessage `json:"logprobs"`
	TopLogprobs      json.RawMessage `json:"top_logprobs"`
	LogitBias        json.RawMessage `json:"logit_bias"`
	ServiceTier      json.RawMessage `json:"service_tier"`
	ReasoningEffort  json.RawMessage `json:"reasoning_effort"`
	Prediction       json.RawMessage `json:"prediction"`
	Audio            json.RawMessage `json:"audio"`
	Modalities       json.RawMessage `json:"modalities"`
	Store            json.RawMessage `json:"store"`
	Functions        json.RawMessage `json:"functions"`
	FunctionCall     json.RawMessage `json:"function_call"`
	WebSearchOptions json.RawMessage `json:"web_search_options"`
	PromptCacheKey   json.RawMessage `json:"prompt_cache_key"`
	SafetyIdentifier json.RawMessage `json:"safety_identifier"`
	Moderation       json.RawMessage `json:"moderation"`
}

// unsupported lists the detected-only parameters in a fixed order.
func (r *chatRequest) unsupported() []string {
	var out []string
	for _, f := range [...]struct {
		name string
		raw  json.RawMessage
	}{
		{"logprobs", r.Logprobs}, {"top_logprobs", nonZero(r.TopLogprobs)}, {"logit_bias", r.LogitBias},
		{"service_tier", r.flexTier()}, {"reasoning_effort", r.ReasoningEffort}, {"prediction", r.Prediction},
		{"audio", r.Audio}, {"modalities", textOnlyModalities(r.Modalities)}, {"store", r.Store},
		{"functions", r.Functions}, {"function_call", r.FunctionCall}, {"web_search_options", r.WebSearchOptions},
		{"moderation", r.Moderation},
	} {
		// null and false ask for nothing; "logprobs": false is common.
		if len(f.raw) > 0 && !bytes.Equal(f.raw, nullJSON) && !bytes.Equal(f.raw, falseJSON) {
			out = append(out, f.name)
		}
	}
	return out
}

// flexTier is service_tier when no other API has its tier ("flex",
// "priority", ...): "auto" and "default" every target can honour
// (see ExtraServiceTier).
func (r *chatRequest) flexTier() json.RawMessage {
	if r.standardTier() != "" {
		return nil
	}
	return r.ServiceTier
}

// nonZero is raw unless it is the number 0 (top_logprobs: 0 asks for no
// alternatives, which every target gives).
func nonZero(raw json.RawMessage) json.RawMessage {
	if string(raw) == "0" {
		return nil
	}
	return raw
}

// textOnlyModalities is modalities unless it asks for text alone, the
// default every target gives.
func textOnlyModalities(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var m []string
	if json.Unmarshal(raw, &m) == nil && len(m) == 1 && m[0] == "text" {
		return nil
	}
	return raw
}

// standardTier is service_tier when it is "auto" or "default", else "".
func (r *chatRequest) standardTier() string {
	if len(r.ServiceTier) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(r.ServiceTier, &s) == nil && (s == "auto" || s == "default") {
		return s
	}
	return ""
}

var (
	nullJSON  = []byte("null")
	falseJSON = []byte("false")
)

type streamOption struct {
	IncludeUsage bool `json:"include_usage"`
}

type message struct {
	Role       string     `json:"role"`
	Content    content    `json:"content"`
	Name       string     `json:"name"`
	ToolCalls  []toolCall `json:"tool_calls"`
	ToolCallID string     `json:"tool_call_id"`
	Refusal    *string    `json:"refusal"`
	// ReasoningContent is the reasoning of DeepSeek, vLLM (before 0.11),
	// SGLang and others; Reasoning is vLLM's newer name for it. Neither is
	// OpenAI's.
	ReasoningContent *string `json:"reasoning_content"`
	Reasoning        *string `json:"reasoning"`
}

// reasoningText is a message's or delta's reasoning, whichever field
// carries it: reasoning_content, reasoning, or content parts of type
// "thinking" (Mistral's ThinkChunk: {"type": "thinking", "thinking":
// [{"type": "text", "text": ...}]}, in answers and stream deltas;
// https://docs.mistral.ai/capabilities/reasoning/).
func (m *message) reasoningText() string {
	if m.ReasoningContent != nil && *m.ReasoningContent != "" {
		return *m.ReasoningContent
	}
	if m.Reasoning != nil {
		return *m.Reasoning
	}
	var text string
	for _, p := range m.Content.parts {
		if p.Type == "thinking" {
			for _, t := range p.Thinking {
				if t.Type == "text" {
					text += t.Text
				}
			}
		}
	}
	return text
}

// content is a message's content: a string, an array of parts, or null.
type content struct {
	isString bool
	str      string
	parts    []contentPart
}

var errContentType = errors.New("content must be a string or an array of content parts")

func (c *content) UnmarshalJSON(b []byte) error {
	*c = content{}
	switch b[0] {
	case 'n':
		return nil
	case '"':
		c.isString = true
		return unquote(b, &c.str)
	case '[':
		return json.Unmarshal(b, &c.parts)
	}
	return errContentType
}

type contentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text"`
	Refusal  string    `json:"refusal"`
	ImageURL *imageURL `json:"image_url"`
	// CacheControl: see tool.CacheControl.
	CacheControl json.RawMessage `json:"cache_control"`
	// Thinking holds the text parts of a "thinking" part (Mistral).
	Thinking []contentPart `json:"thinking"`
}

type imageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail"`
}

type toolCall struct {
	// Index is set only in stream deltas.
	Index    *int         `json:"index"`
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type tool struct {
	Type     string       `json:"type"`
	Function toolFunction `json:"function"`
	// Custom is a custom tool's definition, read only for its name (see
	// decodeAllowedTools).
	Custom struct {
		Name string `json:"name"`
	} `json:"custom"`
	// CacheControl is Anthropic's prompt-cache marker, which clients
	// written for Claude behind OpenAI-compatible gateways (OpenRouter,
	// LiteLLM) put on tools and content parts; Anthropic targets get it.
	CacheControl json.RawMessage `json:"cache_control"`
}

type toolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
}

type responseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *jsonSchema `json:"json_schema"`
}

type jsonSchema struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict *bool           `json:"strict"`
}

type toolChoiceObject struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
	AllowedTools json.RawMessage `json:"allowed_tools"`
}

// stop is "stop": a string, an array of strings, or null.
type stop []string

var errStopType = errors.New("stop must be a string or an array of strings")

func (s *stop) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case 'n':
		*s = nil
		return nil
	case '"':
		var v string
		if err := unquote(b, &v); err != nil {
			return err
		}
		*s = stop{v}
		return nil
	case '[':
		return json.Unmarshal(b, (*[]string)(s))
	}
	return errStopType
}

// unquote decodes a JSON string, skipping encoding/json when the string
// has no escapes (the common case).
func unquote(b []byte, s *string) error {
	if len(b) >= 2 && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		*s = string(b[1 : len(b)-1])
		return nil
	}
	return json.Unmarshal(b, s)
}

// chatResponse is a non-streaming answer, and (with Delta) a stream chunk.
type chatResponse struct {
	ID                string   `json:"id"`
	Model             string   `json:"model"`
	Created           int64    `json:"created"`
	Choices           []choice `json:"choices"`
	Usage             *usage   `json:"usage"`
	SystemFingerprint string   `json:"system_fingerprint"`
	Error             *wireErr `json:"error"`
}

type choice struct {
	Index        int     `json:"index"`
	Message      message `json:"message"`
	Delta        message `json:"delta"`
	FinishReason string  `json:"finish_reason"`
	// StopReason (vLLM) and MatchedStop (SGLang) say what ended a
	// "stop": the stop string that matched, or a token id (a number).
	// OpenAI sends neither.
	StopReason  json.RawMessage `json:"stop_reason"`
	MatchedStop json.RawMessage `json:"matched_stop"`
}

// stopSequence is the stop string that ended the choice, when the server
// says (see StopReason), for clients that are told which one (Anthropic
// stop_reason "stop_sequence" with stop_sequence).
func (c *choice) stopSequence() string {
	if c.FinishReason != llm.FinishStop {
		return ""
	}
	for _, raw := range [...]json.RawMessage{c.StopReason, c.MatchedStop} {
		var s string
		if len(raw) > 0 && raw[0] == '"' && unquote(raw, &s) == nil && s != "" {
			return s
		}
	}
	return ""
}

type usage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func (u *usage) canonical() *llm.Usage {
	if u == nil {
		return nil
	}
	out := &llm.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if u.PromptTokensDetails != nil {
		out.CacheReadTokens = u.PromptTokensDetails.CachedTokens
	}
	if u.CompletionTokensDetails != nil {
		out.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
	}
	return out
}

// wireErr is OpenAI's error object. Code is a string for OpenAI but an
// integer for some compatible servers (llama.cpp), hence raw.
type wireErr struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   json.RawMessage `json:"param"`
	Code    json.RawMessage `json:"code"`
}

// rawText returns a raw JSON string or number as text ("" for null).
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 || bytes.Equal(raw, nullJSON) {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if unquote(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

var errBase64Length = errors.New("base64 embedding is not a whole number of float32s")
