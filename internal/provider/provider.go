// Package provider defines what an upstream adapter is: the small interface
// the gateway, router and evaluators call, and the facts about an upstream
// (hosting, region, capabilities) that policy and routing decide on.
//
// Each adapter lives in its own sub-package (provider/openai,
// provider/anthropic, ...) and never imports another adapter.
package provider

import (
	"context"
	"errors"
	"net/http"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Hosting says who runs the model, the distinction data policy rests on.
type Hosting string

const (
	// SelfHosted models run on the organisation's own infrastructure.
	SelfHosted Hosting = "self_hosted"
	// Proprietary models are third-party APIs: prompts leave the building.
	Proprietary Hosting = "proprietary"
)

// Provider is one configured upstream.
//
// Implementations are safe for concurrent use. Every method honours ctx:
// a cancelled context aborts the upstream call.
type Provider interface {
	// Info describes the upstream. It never changes after construction.
	Info() *Info
	// Chat sends a non-streaming request. req.Model is the upstream model name.
	Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error)
	// ChatStream starts a streaming request. The returned error is for
	// failures before the first chunk (status, connection); later failures
	// come from Stream.Recv.
	ChatStream(ctx context.Context, req *llm.ChatRequest) (Stream, error)
	// Embed computes embeddings; adapters without them return an *llm.Error
	// with status 400 (see Capabilities.Embeddings).
	Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error)
}

// Stream yields canonical chunks of one streamed answer.
// A Stream is not safe for concurrent use.
type Stream interface {
	// Recv returns the next chunk, io.EOF after the last one, or an error
	// (usually *llm.Error) when the upstream failed or cut the stream.
	Recv() (*llm.Chunk, error)
	// Close releases the connection. It is safe to call more than once.
	Close() error
}

// Info is what the gateway, policy and router know about a provider.
type Info struct {
	// Name is the operator's name for the provider, shown in the
	// x-fulcrum-provider response header and in usage records.
	Name string
	// Type is the adapter: openai, anthropic, gemini, ollama, replay.
	Type    string
	Hosting Hosting
	// Region is where the upstream processes data (e.g. "eu", "us"); empty
	// when unknown. Policies may require one.
	Region string
	// Retention is the upstream's data-retention term as configured (e.g.
	// "none", "30d"); empty when unknown.
	Retention string
	Caps      Capabilities
}

// Capabilities lists what an adapter can do, so the gateway can refuse a
// request it cannot honour with a clear 400 instead of silently dropping
// parameters.
type Capabilities struct {
	Embeddings bool
	// MultipleChoices is true when n > 1 is supported.
	MultipleChoices bool
	// Passthrough names the wire format ("openai" or "anthropic") whose
	// requests Forward accepts unchanged; empty when there is none.
	Passthrough string
	// Responses is true when Forward also accepts OpenAI Responses API
	// bodies at /responses (OpenAI itself, and OpenAI-compatible servers
	// configured with responses: true).
	Responses bool
	// Completions is true when Forward also accepts legacy Completions
	// bodies at /completions (vLLM, llama.cpp, Ollama's /v1: openai-type
	// providers configured with completions: true, the default for
	// self-hosted ones).
	Completions bool
	// Forward sends a client body untouched (but for the model name, which
	// the caller has already rewritten) and returns the upstream's response
	// as is. Nil when Passthrough is empty. The caller closes the body.
	Forward func(ctx context.Context, req *RawRequest) (*http.Response, error)
}

// RawRequest is a pass-through call.
type RawRequest struct {
	// Path is relative to the provider's API root, e.g. "/chat/completions"
	// or "/messages".
	Path string
	Body []byte
	// Header holds client headers worth forwarding (anthropic-beta, ...).
	// Authentication headers are always the provider's own.
	Header http.Header
	Stream bool
}

// ErrNoEmbeddings is wrapped by adapters that cannot embed.
var ErrNoEmbeddings = errors.New("provider does not support embeddings")
