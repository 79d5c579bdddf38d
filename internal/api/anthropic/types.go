package anthropic

import "encoding/json"

// The JSON shapes of the Messages API. Field order follows Anthropic's
// reference so encoded bodies read like the real thing.

// wireRequest is the body of POST /v1/messages.
type wireRequest struct {
	Model         string          `json:"model"`
	MaxTokens     *int            `json:"max_tokens,omitempty"`
	System        json.RawMessage `json:"system,omitempty"`
	Messages      []wireMessage   `json:"messages"`
	Tools         []wireTool      `json:"tools,omitempty"`
	ToolChoice    *wireToolChoice `json:"tool_choice,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	TopK          *int            `json:"top_k,omitempty"`
	Metadata      *wireMetadata   `json:"metadata,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	// ServiceTier is "auto" (Anthropic's default: priority capacity when
	// the organisation has it) or "standard_only".
	ServiceTier json.RawMessage `json:"service_tier,omitempty"`
	// CacheControl is automatic prompt caching: a cache_control marker for
	// the last cacheable block.
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
	// InferenceGeo restricts where the model runs (data residency).
	InferenceGeo json.RawMessage `json:"inference_geo,omitempty"`

	// Understood on ingress but not representable canonically; their
	// presence is reported in ChatRequest.Unsupported.
	Thinking          json.RawMessage `json:"thinking,omitempty"`
	MCPServers        json.RawMessage `json:"mcp_servers,omitempty"`
	Container         json.RawMessage `json:"container,omitempty"`
	ContextManagement json.RawMessage `json:"context_management,omitempty"`
	OutputFormat      json.RawMessage `json:"output_format,omitempty"`
	OutputConfig      json.RawMessage `json:"output_config,omitempty"`
}

type wireMetadata struct {
	UserID string `json:"user_id,omitempty"`
}

// wireMessage is one turn; Content is a string or an array of blocks.
type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// wireBlock is any content block. Only the fields of its Type are set.
type wireBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Source    *wireSource     `json:"source,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
	IsError   bool            `json:"is_error,omitempty"`
	// thinking and redacted_thinking blocks
	Thinking     *string         `json:"thinking,omitempty"`
	Signature    *string         `json:"signature,omitempty"`
	Data         string          `json:"data,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// wireSource is an image source: base64 data or a URL (or a file_id,
// which only Anthropic can read). A search_result block's source is a
// string instead (the URL or name its content came from); it is kept in
// Text so that such a block decodes.
type wireSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
	FileID    string `json:"file_id,omitempty"`
	Text      string `json:"-"`
}

func (s *wireSource) UnmarshalJSON(b []byte) error {
	if isString(b) {
		*s = wireSource{}
		return json.Unmarshal(b, &s.Text)
	}
	type plain wireSource
	return json.Unmarshal(b, (*plain)(s))
}

type wireTool struct {
	// Type is empty or "custom" for client tools; anything else is a
	// server tool (web_search_20250305, bash_20250124, ...).
	Type        string          `json:"type,omitempty"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
	// Strict asks for inputs that match input_schema exactly (structured
	// outputs, strict tool use).
	Strict *bool `json:"strict,omitempty"`
	// CacheControl and the rest of a tool's fields are kept verbatim.
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
	// DeferLoading marks a tool found only through tool search.
	DeferLoading bool `json:"defer_loading,omitempty"`
	// InputExamples are example inputs shown to the model (tool use
	// examples); read on ingress only, see decodeTools.
	InputExamples []json.RawMessage `json:"input_examples,omitempty"`
}

type wireToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse *bool  `json:"disable_parallel_tool_use,omitempty"`
}

// wireResponse is a complete Message.
type wireResponse struct {
	ID           string      `json:"id"`
	Type         string      `json:"type"`
	Role         string      `json:"role"`
	Model        string      `json:"model"`
	Content      []wireBlock `json:"content"`
	StopReason   *string     `json:"stop_reason"`
	StopSequence *string     `json:"stop_sequence"`
	Usage        wireUsage   `json:"usage"`
}

// wireUsage is the usage object. Pointers tell an absent count (message_delta
// omits those that do not change) from zero.
type wireUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
}

// wireError is the body of every error: {"type":"error","error":{...}}.
type wireError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}
