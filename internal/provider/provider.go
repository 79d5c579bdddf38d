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
	"fmt"
	"net/http"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/upstream"
)

// The facts about an upstream live in the leaf package upstream, so that
// policy can decide on them (and mint the Permit every call below
// requires) without importing this package. They are re-exported here.
type (
	Hosting      = upstream.Hosting
	Info         = upstream.Info
	Capabilities = upstream.Capabilities
)

const (
	// SelfHosted models run on the organisation's own infrastructure.
	SelfHosted = upstream.SelfHosted
	// Proprietary models are third-party APIs: prompts leave the building.
	Proprietary = upstream.Proprietary
)

// Provider is one configured upstream.
//
// Every method that sends data upstream takes a policy.Permit: proof that
// the policy verdict of the request the call is made for permits this
// upstream. Only policy mints one (Clearance.Permit, which router.Execute
// calls for each target it tries), so an uncleared call does not compile;
// and every implementation checks at its top that the permit was minted
// for its own Info (Permit.Check), so a zero permit, or one for another
// upstream, fails closed with a 500 before anything is sent.
//
// Implementations are safe for concurrent use. Every method honours ctx:
// a cancelled context aborts the upstream call.
type Provider interface {
	// Info describes the upstream. It never changes after construction,
	// and it is the same pointer every time (permits are minted for it).
	Info() *Info
	// Chat sends a non-streaming request. req.Model is the upstream model name.
	Chat(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error)
	// ChatStream starts a streaming request. The returned error is for
	// failures before the first chunk (status, connection); later failures
	// come from Stream.Recv.
	ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (Stream, error)
	// Embed computes embeddings; adapters without them return an *llm.Error
	// with status 400 (see Capabilities.Embeddings).
	Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error)
	// Forward sends a client body untouched (but for the model name, which
	// the caller has already rewritten) and returns the upstream's response
	// as is; the caller closes the body. Adapters whose
	// Capabilities.Passthrough is empty refuse with NoForward.
	Forward(ctx context.Context, pm policy.Permit, req *RawRequest) (*http.Response, error)
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

// NoForward is the error of Forward on an adapter without pass-through
// (Capabilities.Passthrough empty): the gateway never calls it there, so
// reaching it is a bug, answered with a 500 rather than a silent drop.
func NoForward(info *Info) error {
	return &llm.Error{Status: http.StatusInternalServerError, Type: llm.ErrUpstream, Code: "no_passthrough", Provider: info.Name,
		Message: fmt.Sprintf("provider %q has no pass-through", info.Name)}
}
