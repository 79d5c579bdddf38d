// Package openai is the OpenAI Chat Completions and Embeddings wire format:
// its JSON types and pure translation functions in both directions.
//
// Ingress functions (DecodeChatRequest, EncodeChatResponse, StreamEncoder,
// EncodeError, ...) speak to clients that use an OpenAI SDK. Egress
// functions (EncodeChatRequest, DecodeChatResponse, StreamDecoder, ...)
// speak to OpenAI and every OpenAI-compatible upstream (vLLM, llama.cpp
// server, TGI, LM Studio). The pass-through helpers (SetModel,
// SetIncludeUsage, ChunkUsage, ...) edit or read raw bodies byte by byte, for
// the path that forwards a client's body without re-encoding it.
//
// Wire shapes follow the API reference
// (https://platform.openai.com/docs/api-reference/chat) and the official Go
// SDK (github.com/openai/openai-go), whose decoders the tests run against
// this package's output.
//
// This is a leaf package: it imports only internal/llm and internal/sse.
package openai
