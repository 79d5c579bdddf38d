package ollama

import "encoding/json"

// Wire types of Ollama's native API, only the fields Fulcrum reads or
// writes. Reference: https://github.com/ollama/ollama/blob/main/docs/api.md
// and the Go types in github.com/ollama/ollama/api/types.go.

// chatRequest is the body of POST /api/chat.
type chatRequest struct {
	Model    string    `json:"model"`
	Messages []message `json:"messages"`
	Tools    []tool    `json:"tools,omitempty"`
	// Format is "json" or a JSON Schema object.
	Format  json.RawMessage `json:"format,omitempty"`
	Options *options        `json:"options,omitempty"`
	// Stream is always sent: Ollama streams when it is absent.
	Stream bool `json:"stream"`
	// Think is true or false, or "low", "medium" or "high" for gpt-oss
	// (https://docs.ollama.com/capabilities/thinking); absent leaves the
	// model's default.
	Think json.RawMessage `json:"think,omitempty"`
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	// Thinking is a thinking model's reasoning (think: true); not answer text.
	Thinking string `json:"thinking,omitempty"`
	// Images are base64 strings without a data: prefix.
	Images    []string   `json:"images,omitempty"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
	// ToolName names the function a role "tool" message answers.
	ToolName string `json:"tool_name,omitempty"`
	// ToolCallID is read by newer Ollama versions; older ones ignore it.
	ToolCallID string `json:"tool_call_id,omitempty"`
}

type toolCall struct {
	ID       string           `json:"id,omitempty"`
	Function toolCallFunction `json:"function"`
}

type toolCallFunction struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	// Arguments is a JSON object, not a string as in OpenAI's format.
	Arguments json.RawMessage `json:"arguments"`
}

type tool struct {
	Type     string       `json:"type"`
	Function toolFunction `json:"function"`
}

type toolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// options are the Modelfile parameters a request may override.
type options struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	TopK             *int     `json:"top_k,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	Stop             []string `json:"stop,omitempty"`
	NumPredict       *int     `json:"num_predict,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
}

// chatResponse is the whole answer (stream: false) or one NDJSON line of a
// stream. The last line has done: true, done_reason and the counts.
type chatResponse struct {
	Model      string  `json:"model"`
	CreatedAt  string  `json:"created_at"`
	Message    message `json:"message"`
	Done       bool    `json:"done"`
	DoneReason string  `json:"done_reason"`
	// The counts are omitted by Ollama when zero; pointers tell "not
	// reported" from 0.
	PromptEvalCount *int64 `json:"prompt_eval_count"`
	EvalCount       *int64 `json:"eval_count"`
	// Error is set on a line that reports a failure mid-stream.
	Error string `json:"error"`
}

// embedRequest is the body of POST /api/embed.
type embedRequest struct {
	Model      string   `json:"model"`
	Input      []string `json:"input"`
	Dimensions *int     `json:"dimensions,omitempty"`
}

type embedResponse struct {
	Model           string      `json:"model"`
	Embeddings      [][]float32 `json:"embeddings"`
	PromptEvalCount *int64      `json:"prompt_eval_count"`
}

// tagsResponse is the answer of GET /api/tags.
type tagsResponse struct {
	Models []struct {
		Name  string `json:"name"`
		Model string `json:"model"`
	} `json:"models"`
}

// errorBody is Ollama's error object, on non-2xx answers and as a stream line.
type errorBody struct {
	Error string `json:"error"`
}
