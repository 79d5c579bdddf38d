// Package anthropic is the Anthropic Messages API wire format
// (https://docs.anthropic.com/en/api/messages): its JSON types and pure
// translation to and from Fulcrum's canonical model (internal/llm), in both
// directions.
//
// Ingress (clients calling Fulcrum's POST /v1/messages) uses
// DecodeMessagesRequest, EncodeMessagesResponse, StreamEncoder and
// EncodeError. Egress (Fulcrum calling an Anthropic upstream) uses
// EncodeMessagesRequest, DecodeMessagesResponse, StreamDecoder and
// ErrorMessage. When an Anthropic client talks to an Anthropic upstream and
// nothing must change, the gateway forwards the body and uses only SetModel,
// ResponseUsage and UsageTap.
//
// Token usage differs between the two worlds: Anthropic's input_tokens
// excludes prompt-cache reads and writes, the canonical InputTokens includes
// them (OpenAI's prompt_tokens meaning). Every function here converts.
//
// This is a leaf package: it imports only internal/llm and internal/sse.
package anthropic
