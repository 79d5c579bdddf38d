// Package llm holds Fulcrum's canonical chat and embedding model: the one
// shape every wire format is decoded into and encoded from.
//
// The model is OpenAI-shaped (messages with roles, tool calls carrying JSON
// argument strings) and a superset where Anthropic or Gemini carry more (top_k,
// cache token counts, stop sequences). Each wire format has one package that
// converts between its JSON and these types; there is no N×M translation.
//
// This is a leaf package: it imports nothing internal.
package llm

import (
	"encoding/json"
	"strings"
)

// Role is who authored a message.
type Role string

const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	// RoleTool carries the result of one tool call (ToolCallID says which).
	RoleTool Role = "tool"
)

// PartType says what a content part holds.
type PartType string

const (
	PartText  PartType = "text"
	PartImage PartType = "image"
)

// ChatRequest is the canonical chat request.
//
// System prompts are messages with RoleSystem at the start of Messages;
// formats with a separate system field (Anthropic, Gemini) move them there.
type ChatRequest struct {
	// Model is the name the client sent; adapters replace it with the
	// upstream model name before the call.
	Model    string
	Messages []Message

	Tools             []Tool
	ToolChoice        *ToolChoice
	ParallelToolCalls *bool
	ResponseFormat    *ResponseFormat

	// MaxTokens is max_tokens / max_completion_tokens; nil means the client
	// set no limit.
	MaxTokens        *int
	Temperature      *float64
	TopP             *float64
	TopK             *int
	Stop             []string
	Seed             *int64
	PresencePenalty  *float64
	FrequencyPenalty *float64
	// N is the number of choices; 0 means the default of one.
	N    int
	User string

	// Reasoning configures the model's reasoning (Anthropic thinking, OpenAI
	// reasoning_effort, Gemini thinkingConfig); nil leaves the default.
	Reasoning *Reasoning

	Stream bool
	// IncludeUsage is true when the client asked for a usage chunk at the end
	// of a stream (OpenAI stream_options.include_usage). Anthropic clients
	// always get usage.
	IncludeUsage bool

	// Extra holds top-level fields of the client's wire format kept
	// verbatim, for a target of the same family to re-emit when the request
	// takes the translated path (Anthropic: thinking, context_management,
	// output_config, container, mcp_servers). A name both here and in
	// Unsupported is refused by every other target.
	Extra map[string]json.RawMessage

	// Betas are the values of the client's anthropic-beta header
	// (Anthropic's opt-in features: a larger output limit, the 1M context
	// window, interleaved thinking, context management), scanned by policy
	// with the body. The Anthropic adapter sends them on the translated
	// path as pass-through does; other targets have no such header.
	Betas []string

	// Unsupported lists request fields that the ingress decoder understood
	// but that only some targets can honour (for example "logprobs"). An
	// adapter that cannot honour one fails with a 400 rather than dropping it.
	Unsupported []string
}

// Message is one turn of the conversation.
type Message struct {
	Role    Role
	Content []Part
	// ToolCalls are the calls an assistant message makes.
	ToolCalls []ToolCall
	// ToolCallID names the call a RoleTool message answers.
	ToolCallID string
	// IsError marks a tool result that reports a failure (Anthropic is_error).
	IsError bool
	Name    string
	// Thoughts is the reasoning an assistant message carries (in order,
	// before its text and tool calls).
	Thoughts []Thought
	// CacheControl is the cache_control of an Anthropic tool_result block
	// (RoleTool messages).
	CacheControl json.RawMessage
}

// Reasoning configures a model's reasoning. Each wire format maps what it
// has: effort levels (OpenAI), a token budget (Anthropic, Gemini), or both.
type Reasoning struct {
	// Effort is "none", "minimal", "low", "medium", "high" or "xhigh"
	// ("" = not set).
	Effort string
	// BudgetTokens is a thinking budget in tokens (0 = not set).
	BudgetTokens int
	// Adaptive leaves the amount of thinking to the model (Anthropic
	// thinking type "adaptive").
	Adaptive bool
	// Disabled turns reasoning off where a model allows it.
	Disabled bool
	// Summary is OpenAI's reasoning.summary ("auto", "concise",
	// "detailed"); Display is Anthropic's thinking.display ("summarized",
	// "omitted"). Both only shape what the client sees.
	Summary string
	Display string
	// Param is the client's field that asked for reasoning ("thinking",
	// "reasoning_effort", "reasoning.effort", "output_config.effort",
	// "generationConfig.thinkingConfig"), named by a target that refuses it.
	Param string
	// Hint is true when only soft signals asked for reasoning: Anthropic
	// adaptive thinking (the model decides whether to think) and
	// output_config.effort (a behavioural signal). A target whose model
	// cannot reason drops a hint, since answering without reasoning is
	// what the hint allows; an explicit request (a thinking budget, an
	// OpenAI effort) it refuses.
	Hint bool
}

// Explicit reports whether r asks for reasoning with more than a hint
// (see Reasoning.Hint); disabling reasoning is never explicit, since a
// model that cannot reason honours it.
func (r *Reasoning) Explicit() bool {
	return r != nil && !r.Hint && !r.Disabled && r.Effort != "none" && (r.BudgetTokens > 0 || r.Effort != "")
}

// On reports whether r asks for reasoning at all (hint or explicit).
func (r *Reasoning) On() bool {
	return r != nil && !r.Disabled && r.Effort != "none" && (r.Adaptive || r.BudgetTokens > 0 || r.Effort != "")
}

// BudgetForEffort maps an effort level to a thinking budget in tokens,
// for targets that take budgets (Anthropic, Gemini) from clients that
// speak in efforts. 0 for "" and "none".
func BudgetForEffort(effort string) int {
	switch effort {
	case "minimal":
		return 1024
	case "low":
		return 2048
	case "medium":
		return 8192
	case "high":
		return 24576
	case "xhigh":
		return 32768
	}
	return 0
}

// EffortForBudget maps a thinking budget to an effort level, for targets
// that take efforts (OpenAI) from clients that speak in budgets: under
// 4096 tokens low, under 16384 medium, else high. It is the inverse of
// BudgetForEffort for low, medium and high.
func EffortForBudget(budget int) string {
	switch {
	case budget <= 0:
		return ""
	case budget < 4096:
		return "low"
	case budget < 16384:
		return "medium"
	}
	return "high"
}

// EffortLevel is the effort level r asks for: its Effort, else the level of
// its budget ("" when neither is set).
func (r *Reasoning) EffortLevel() string {
	if r == nil {
		return ""
	}
	if r.Effort != "" {
		return r.Effort
	}
	return EffortForBudget(r.BudgetTokens)
}

// Budget is the thinking budget r asks for: its BudgetTokens, else the
// budget of its effort (0 when neither is set).
func (r *Reasoning) Budget() int {
	if r == nil {
		return 0
	}
	if r.BudgetTokens > 0 {
		return r.BudgetTokens
	}
	return BudgetForEffort(r.Effort)
}

// Untranslated is the refusal of an adapter that translates neither
// Unsupported nor reasoning: the first unsupported field, else the field
// that asked explicitly for reasoning (a hint is dropped, see
// Reasoning.Hint), else nil.
func (r *ChatRequest) Untranslated(provider string) *Error {
	if len(r.Unsupported) > 0 {
		return Unsupported(provider, r.Unsupported[0])
	}
	if r.Reasoning.Explicit() {
		return Unsupported(provider, r.Reasoning.Param)
	}
	return nil
}

// ReasoningParam reports whether name, listed in Unsupported, is the
// field that asked for reasoning: an adapter that translates Reasoning
// honours it and does not refuse it.
func (r *ChatRequest) ReasoningParam(name string) bool {
	return r.Reasoning != nil && r.Reasoning.Param == name
}

// Thought is one piece of model reasoning.
type Thought struct {
	Text string
	// Signature lets the provider that produced the thought verify it when
	// it is sent back (Anthropic signature, OpenAI encrypted_content).
	Signature string
	// Redacted is reasoning the provider returned encrypted (Anthropic
	// redacted_thinking data); Text is then empty.
	Redacted string
}

// ErrorPrefix starts the content of a failed tool result (Anthropic
// tool_result is_error: true) sent to an upstream whose tool messages have
// no error flag (OpenAI-format, Ollama): without it the model would read
// the failure as the tool's answer.
const ErrorPrefix = "Error: "

// ErrorMarked returns m, or for a failed tool result whose text does not
// already start by saying so ("Error: ENOENT", "error: exit status 1"), a
// copy whose first text starts with ErrorPrefix (a text part of its own
// when the result has none). m is not changed.
func (m *Message) ErrorMarked() *Message {
	if m.Role != RoleTool || !m.IsError {
		return m
	}
	if len(m.Content) > 0 && m.Content[0].Type == PartText {
		if t := strings.TrimSpace(m.Content[0].Text); len(t) >= 5 && strings.EqualFold(t[:5], "error") {
			return m
		}
	}
	return m.prefixed(ErrorPrefix)
}

// prefixed returns a copy of m whose first text starts with prefix, or, when
// m does not start with text, with a text part of its own (the prefix
// without its trailing space).
func (m *Message) prefixed(prefix string) *Message {
	c := *m
	c.Content = make([]Part, 0, len(m.Content)+1)
	if len(m.Content) > 0 && m.Content[0].Type == PartText {
		first := m.Content[0]
		first.Text = prefix + first.Text
		c.Content = append(append(c.Content, first), m.Content[1:]...)
	} else {
		c.Content = append(append(c.Content, Part{Type: PartText, Text: strings.TrimSpace(prefix)}), m.Content...)
	}
	return &c
}

// Text returns the concatenated text parts of the message.
func (m *Message) Text() string {
	if len(m.Content) == 1 && m.Content[0].Type == PartText {
		return m.Content[0].Text
	}
	var n int
	for _, p := range m.Content {
		n += len(p.Text)
	}
	b := make([]byte, 0, n)
	for _, p := range m.Content {
		if p.Type == PartText {
			b = append(b, p.Text...)
		}
	}
	return string(b)
}

// TextMessage returns a message with a single text part.
func TextMessage(role Role, text string) Message {
	return Message{Role: role, Content: []Part{{Type: PartText, Text: text}}}
}

// Part is one piece of message content.
type Part struct {
	Type PartType
	Text string
	// Image is set when Type is PartImage.
	Image *Image
	// CacheControl is an Anthropic cache_control marker, kept verbatim so
	// it survives re-encoding for Anthropic targets (other targets cache
	// on their own and ignore it).
	CacheControl json.RawMessage
}

// Image is an image in a message: either a URL or inline base64 data.
type Image struct {
	// URL is an http(s) URL. Data URLs are split into MediaType and Data.
	URL string
	// MediaType is the MIME type of inline data, e.g. "image/png".
	MediaType string
	// Data is the base64-encoded image (not decoded: every wire format
	// carries base64, so decoding would only cost time).
	Data string
	// Detail is OpenAI's "low" | "high" | "auto".
	Detail string
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments object.
	Parameters json.RawMessage
	Strict     *bool
	// CacheControl is an Anthropic cache_control marker (see Part).
	CacheControl json.RawMessage
}

// ToolChoiceMode says how the model may use tools.
type ToolChoiceMode string

const (
	ToolChoiceAuto     ToolChoiceMode = "auto"
	ToolChoiceNone     ToolChoiceMode = "none"
	ToolChoiceRequired ToolChoiceMode = "required"
	// ToolChoiceTool forces the tool named in ToolChoice.Name.
	ToolChoiceTool ToolChoiceMode = "tool"
)

// ToolChoice constrains tool use.
type ToolChoice struct {
	Mode ToolChoiceMode
	Name string
}

// ToolCall is one call an assistant makes.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is the JSON object of arguments, as a string (OpenAI's shape).
	Arguments string
	// Signature is an opaque token the provider that made the call
	// attached to it (Gemini's thoughtSignature), which only that provider
	// may get back. No client wire format carries it: client encoders
	// never write it and decoders never set it; the gateway keeps it per
	// key and puts it back on the turn it sends that provider
	// (gateway/thoughts.go). Omitted from JSON when empty, as canonical
	// values are written in golden files.
	Signature string `json:",omitempty"`
}

// ResponseFormat asks for structured output.
type ResponseFormat struct {
	// Type is "text", "json_object" or "json_schema".
	Type   string
	Name   string
	Schema json.RawMessage
	Strict *bool
}

// Finish reasons, OpenAI's vocabulary.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
)

// ChatResponse is a complete (non-streamed) answer.
type ChatResponse struct {
	ID      string
	Model   string
	Created int64
	Choices []Choice
	// Usage is nil when the provider reported none.
	Usage *Usage
	// StopSequence is the stop sequence that ended generation, when the
	// provider says which (Anthropic stop_sequence).
	StopSequence string
	// SystemFingerprint is passed through from OpenAI-compatible upstreams.
	SystemFingerprint string
}

// Choice is one generated alternative.
type Choice struct {
	Index        int
	Message      Message
	FinishReason string
}

// Usage counts tokens. InputTokens is every input token, including those
// read from or written to a prompt cache (OpenAI's prompt_tokens meaning);
// CacheReadTokens and CacheWriteTokens are parts of it. OutputTokens includes
// ReasoningTokens.
type Usage struct {
	InputTokens      int64
	OutputTokens     int64
	CacheReadTokens  int64
	CacheWriteTokens int64
	ReasoningTokens  int64
	// Estimated is true when Fulcrum counted the tokens itself because the
	// provider reported none.
	Estimated bool
}

// Total is input plus output tokens.
func (u *Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// Chunk is one streamed piece of a single-choice answer, OpenAI-delta shaped.
// Stream converters emit, in order: a first chunk with Role set, chunks with
// Text or ToolCalls deltas, a chunk with FinishReason, and at most one chunk
// with Usage (which may be the same chunk as the finish).
type Chunk struct {
	ID    string
	Model string
	Role  Role
	Text  string
	// Reasoning is a delta of the model's reasoning text; Signature, when
	// set, closes the current thought (Anthropic signature_delta).
	Reasoning string
	Signature string
	// Redacted is a whole thought the provider returned encrypted
	// (Anthropic redacted_thinking data, Bedrock redactedContent): a
	// thought of its own, which Claude needs back unchanged with the
	// others before a tool use.
	Redacted string
	// ToolCalls are argument deltas; the first delta for an Index carries ID
	// and Name.
	ToolCalls    []ToolCallDelta
	FinishReason string
	StopSequence string
	Usage        *Usage
}

// ToolCallDelta is a piece of a streamed tool call.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
	// Signature is the call's ToolCall.Signature, on the delta that
	// carries its ID.
	Signature string `json:",omitempty"`
}

// EmbedRequest asks for embeddings of one or more inputs.
type EmbedRequest struct {
	Model string
	// Input holds text inputs. Token-array inputs are kept in Tokens instead.
	Input  []string
	Tokens [][]int
	// Dimensions asks for shortened vectors where the model supports it.
	Dimensions *int
	// EncodingFormat is "float" (default) or "base64"; it concerns only how
	// the gateway encodes the answer to the client.
	EncodingFormat string
	User           string
}

// EmbedResponse holds one vector per input, in input order.
type EmbedResponse struct {
	Model   string
	Vectors [][]float32
	Usage   *Usage
}

// NameFolded returns m, or for a system, user or assistant message with a Name
// (OpenAI's message name, which tells participants of one role apart) a
// copy whose text starts with "name: ", for upstreams whose messages have
// no name: dropped, the model would read several speakers as one. An
// assistant turn without text (one that only calls tools) is left as it
// is: a text of a name alone is not what the model said. m is not changed.
func (m *Message) NameFolded() *Message {
	if m.Name == "" || m.Role == RoleTool || (m.Role == RoleAssistant && m.Text() == "") {
		return m
	}
	return m.prefixed(m.Name + ": ")
}
