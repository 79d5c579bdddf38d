package bedrock

import "encoding/json"

// The Converse API's JSON shapes
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html).
// Blob members (image bytes) are base64 strings, as in every AWS JSON
// protocol.

type converseRequest struct {
	Messages                     []message        `json:"messages"`
	System                       []systemBlock    `json:"system,omitempty"`
	InferenceConfig              *inferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig                   *toolConfig      `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields json.RawMessage  `json:"additionalModelRequestFields,omitempty"`
	OutputConfig                 *outputConfig    `json:"outputConfig,omitempty"`
}

// outputConfig is structured output for the answer's text
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_OutputConfig.html).
type outputConfig struct {
	TextFormat *outputFormat `json:"textFormat"`
}

// outputFormat's type is "json_schema", the only one; structure is a
// union of which jsonSchema is the only member.
type outputFormat struct {
	Type      string `json:"type"`
	Structure struct {
		JSONSchema jsonSchemaDefinition `json:"jsonSchema"`
	} `json:"structure"`
}

// jsonSchemaDefinition carries the schema as a JSON string, not an object.
type jsonSchemaDefinition struct {
	Schema      string `json:"schema"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

type message struct {
	Role    string         `json:"role"`
	Content []contentBlock `json:"content"`
}

// systemBlock is a SystemContentBlock union: text, or a cache point.
type systemBlock struct {
	Text       string      `json:"text,omitempty"`
	CachePoint *cachePoint `json:"cachePoint,omitempty"`
}

// cachePoint is a CachePointBlock: the content before it is cached
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CachePointBlock.html).
type cachePoint struct {
	Type string `json:"type"` // "default"
	// TTL is "5m" or "1h"; absent, Bedrock's default (5 minutes).
	TTL string `json:"ttl,omitempty"`
}

// contentBlock is a union: exactly one member is set.
type contentBlock struct {
	Text       *string     `json:"text,omitempty"`
	Image      *imageBlock `json:"image,omitempty"`
	ToolUse    *toolUse    `json:"toolUse,omitempty"`
	ToolResult *toolResult `json:"toolResult,omitempty"`
	// ReasoningContent is a model's reasoning (ReasoningContentBlock).
	ReasoningContent *reasoningBlock `json:"reasoningContent,omitempty"`
	CachePoint       *cachePoint     `json:"cachePoint,omitempty"`
}

// reasoningBlock is a ReasoningContentBlock, a union: reasoningText, or
// redactedContent (a blob: base64 in JSON, kept as it came).
type reasoningBlock struct {
	ReasoningText   *reasoningText `json:"reasoningText,omitempty"`
	RedactedContent string         `json:"redactedContent,omitempty"`
}

type reasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

type imageBlock struct {
	Format string `json:"format"`
	Source struct {
		Bytes string `json:"bytes"`
	} `json:"source"`
}

type toolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type toolResult struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []toolResultContent `json:"content"`
	Status    string              `json:"status,omitempty"`
}

type toolResultContent struct {
	Text *string         `json:"text,omitempty"`
	JSON json.RawMessage `json:"json,omitempty"`
}

type inferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type toolConfig struct {
	Tools      []toolSpecWrap `json:"tools"`
	ToolChoice *toolChoice    `json:"toolChoice,omitempty"`
}

// toolSpecWrap is a Tool union: a toolSpec, or a cache point.
type toolSpecWrap struct {
	ToolSpec   *toolSpec   `json:"toolSpec,omitempty"`
	CachePoint *cachePoint `json:"cachePoint,omitempty"`
}

type toolSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Strict constrains the tool's input to its schema (structured
	// outputs); sent only as true.
	Strict      *bool `json:"strict,omitempty"`
	InputSchema struct {
		JSON json.RawMessage `json:"json"`
	} `json:"inputSchema"`
}

type toolChoice struct {
	Auto *struct{} `json:"auto,omitempty"`
	Any  *struct{} `json:"any,omitempty"`
	Tool *struct {
		Name string `json:"name"`
	} `json:"tool,omitempty"`
}

type converseResponse struct {
	Output struct {
		Message *message `json:"message"`
	} `json:"output"`
	StopReason string     `json:"stopReason"`
	Usage      *usageWire `json:"usage"`
}

type usageWire struct {
	InputTokens           int64 `json:"inputTokens"`
	OutputTokens          int64 `json:"outputTokens"`
	TotalTokens           int64 `json:"totalTokens"`
	CacheReadInputTokens  int64 `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int64 `json:"cacheWriteInputTokens"`
}

// Stream event payloads (ConverseStreamOutput members).
type (
	contentBlockStartEvent struct {
		ContentBlockIndex int `json:"contentBlockIndex"`
		Start             struct {
			ToolUse *struct {
				ToolUseID string `json:"toolUseId"`
				Name      string `json:"name"`
			} `json:"toolUse"`
		} `json:"start"`
	}
	contentBlockDeltaEvent struct {
		ContentBlockIndex int `json:"contentBlockIndex"`
		Delta             struct {
			Text    *string `json:"text"`
			ToolUse *struct {
				Input string `json:"input"`
			} `json:"toolUse"`
			// ReasoningContent is a ReasoningContentBlockDelta, a union
			// of text, signature and redactedContent.
			ReasoningContent *struct {
				Text            *string `json:"text"`
				Signature       *string `json:"signature"`
				RedactedContent *string `json:"redactedContent"`
			} `json:"reasoningContent"`
		} `json:"delta"`
	}
	messageStopEvent struct {
		StopReason string `json:"stopReason"`
	}
	metadataEvent struct {
		Usage *usageWire `json:"usage"`
	}
)

// errorBody is the JSON body of an AWS error (and of a stream exception).
type errorBody struct {
	Message      string `json:"message"`
	MessageUpper string `json:"Message"`
}
