package openai

import (
	"net/http"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// EncodeChatResponse encodes a complete answer as an OpenAI chat.completion
// object (https://platform.openai.com/docs/api-reference/chat/object).
func EncodeChatResponse(resp *llm.ChatResponse) ([]byte, error) {
	b := make([]byte, 0, 512+responseTextLen(resp))
	b = append(b, '{')
	b = appendStringField(b, "id", resp.ID)
	b = appendStringField(b, "object", "chat.completion")
	b = appendIntField(b, "created", resp.Created)
	b = appendStringField(b, "model", resp.Model)
	b = append(appendKey(b, "choices"), '[')
	for i := range resp.Choices {
		c := &resp.Choices[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendIntField(b, "index", int64(c.Index))
		b = append(appendKey(b, "message"), '{')
		b = appendStringField(b, "role", "assistant")
		b = appendKey(b, "content")
		if len(c.Message.Content) == 0 && len(c.Message.ToolCalls) > 0 {
			// OpenAI sends null content alongside tool calls.
			b = append(b, "null"...)
		} else {
			b = appendString(b, c.Message.Text())
		}
		b = append(appendKey(b, "refusal"), "null"...)
		if r := thoughtText(c.Message.Thoughts); r != "" {
			// DeepSeek's field, which vLLM, SGLang and the clients of
			// reasoning models read; OpenAI itself returns no reasoning.
			b = appendStringField(b, "reasoning_content", r)
		}
		if len(c.Message.ToolCalls) > 0 {
			b = append(appendKey(b, "tool_calls"), '[')
			for j, tc := range c.Message.ToolCalls {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, '{')
				b = appendStringField(b, "id", tc.ID)
				b = appendStringField(b, "type", "function")
				b = append(appendKey(b, "function"), '{')
				b = appendStringField(b, "name", tc.Name)
				b = appendStringField(b, "arguments", tc.Arguments)
				b = append(b, '}', '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
		b = append(appendKey(b, "logprobs"), "null"...)
		b = appendKey(b, "finish_reason")
		b = appendFinish(b, c.FinishReason)
		b = append(b, '}')
	}
	b = append(b, ']')
	if resp.Usage != nil {
		b = appendUsage(appendKey(b, "usage"), resp.Usage)
	}
	if resp.SystemFingerprint != "" {
		b = appendStringField(b, "system_fingerprint", resp.SystemFingerprint)
	}
	return append(b, '}'), nil
}

// thoughtText joins the readable text of an answer's thoughts (redacted
// and encrypted-only thoughts have none).
func thoughtText(ts []llm.Thought) string {
	if len(ts) == 1 {
		return ts[0].Text
	}
	var b []byte
	for _, t := range ts {
		if t.Text != "" {
			if len(b) > 0 {
				b = append(b, "\n\n"...)
			}
			b = append(b, t.Text...)
		}
	}
	return string(b)
}

func responseTextLen(resp *llm.ChatResponse) int {
	n := 0
	for i := range resp.Choices {
		for _, p := range resp.Choices[i].Message.Content {
			n += len(p.Text)
		}
		for _, t := range resp.Choices[i].Message.Thoughts {
			n += len(t.Text) + 32
		}
		for _, tc := range resp.Choices[i].Message.ToolCalls {
			n += len(tc.Arguments) + 64
		}
	}
	return n
}

// appendFinish writes a finish reason, or null when there is none. Only
// OpenAI's vocabulary reaches clients; anything else from other upstreams
// has already been mapped by their decoders, and an unknown value is
// passed through rather than guessed at.
func appendFinish(b []byte, reason string) []byte {
	if reason == "" {
		return append(b, "null"...)
	}
	return appendString(b, reason)
}

// appendUsage writes OpenAI's usage object. The detail objects are always
// present, as OpenAI sends them.
func appendUsage(b []byte, u *llm.Usage) []byte {
	b = append(b, '{')
	b = appendIntField(b, "prompt_tokens", u.InputTokens)
	b = appendIntField(b, "completion_tokens", u.OutputTokens)
	b = appendIntField(b, "total_tokens", u.Total())
	b = append(appendKey(b, "prompt_tokens_details"), '{')
	b = appendIntField(b, "cached_tokens", u.CacheReadTokens)
	b = append(b, '}')
	b = append(appendKey(b, "completion_tokens_details"), '{')
	b = appendIntField(b, "reasoning_tokens", u.ReasoningTokens)
	return append(b, '}', '}')
}

// EncodeError renders e as OpenAI's error object:
// {"error":{"message","type","param","code"}}.
//
// OpenAI uses few error types, so Fulcrum's kinds are mapped onto its
// conventions (https://platform.openai.com/docs/guides/error-codes): a bad
// key is invalid_request_error/invalid_api_key, an unknown model is
// invalid_request_error/model_not_found (its own code; another 404 keeps
// the code it has, or none), a rate limit is
// requests/rate_limit_exceeded, an exhausted budget is
// insufficient_quota/insufficient_quota, an upstream failure server_error.
func EncodeError(e *llm.Error) []byte {
	b := make([]byte, 0, 128+len(e.Message))
	b = append(b, `{"error":`...)
	b = appendErrorObject(b, e)
	return append(b, '}')
}

// AppendStreamError appends the event that reports a failure after a
// stream has started: data: {"error":{...}}. No [DONE] follows it; the
// official SDKs stop at an "error" key and raise it.
func AppendStreamError(b []byte, e *llm.Error) []byte {
	b = append(b, `data: {"error":`...)
	b = appendErrorObject(b, e)
	return append(b, "}\n\n"...)
}

func appendErrorObject(b []byte, e *llm.Error) []byte {
	typ, code := errorTypeCode(e)
	b = append(b, '{')
	b = appendStringField(b, "message", e.Message)
	b = appendStringField(b, "type", typ)
	b = appendKey(b, "param")
	if e.Param == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, e.Param)
	}
	b = appendKey(b, "code")
	if code == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, code)
	}
	return append(b, '}')
}

// errorTypeCode maps an error to OpenAI's type and code. A code the error
// already carries wins over the default for its kind.
func errorTypeCode(e *llm.Error) (typ, code string) {
	code = e.Code
	def := func(c string) {
		if code == "" {
			code = c
		}
	}
	switch e.Type {
	case llm.ErrInvalidRequest:
		typ = "invalid_request_error"
	case llm.ErrPolicy:
		// Fulcrum's own type: a refusal by data policy (403, or 503 when
		// the only compliant providers are down), not a malformed request.
		typ = llm.ErrPolicy
	case llm.ErrAuthentication:
		typ = "invalid_request_error"
		def("invalid_api_key")
	case llm.ErrPermission:
		typ = "invalid_request_error"
		def("permission_denied")
	case llm.ErrNotFound:
		// No default code: Fulcrum's own "no such model" says
		// model_not_found itself, and an upstream's 404 keeps the code it
		// gave, null included ("Item with id 'msg_...' not found." has
		// none; calling it model_not_found misled clients).
		typ = "invalid_request_error"
	case llm.ErrTooLarge:
		typ = "invalid_request_error"
		def("request_too_large")
	case llm.ErrRateLimit:
		// OpenAI names the limit that refused: requests or tokens.
		typ = "requests"
		if e.RateLimit == "tokens" {
			typ = "tokens"
		}
		def("rate_limit_exceeded")
	case llm.ErrQuota:
		typ = "insufficient_quota"
		def("insufficient_quota")
	case llm.ErrUpstream, llm.ErrOverloaded, llm.ErrTimeout:
		typ = "server_error"
	default:
		if e.Status >= http.StatusInternalServerError || e.Status == 0 {
			typ = "server_error"
		} else {
			typ = "invalid_request_error"
		}
	}
	return typ, code
}
