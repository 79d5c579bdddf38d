// Package upstream holds the facts about an upstream that data policy and
// routing decide on: who hosts it, where it processes data, how long it
// keeps it, and what it can do.
//
// It is a leaf so that both policy (which decides whether a call may go to
// an upstream and mints the permit for it) and provider (whose methods
// require that permit) can import it without importing each other in a
// cycle. The rest of the code uses these types through the aliases in
// package provider.
package upstream

// Hosting says who runs the model, the distinction data policy rests on.
type Hosting string

const (
	// SelfHosted models run on the organisation's own infrastructure.
	SelfHosted Hosting = "self_hosted"
	// Proprietary models are third-party APIs: prompts leave the building.
	Proprietary Hosting = "proprietary"
)

// Info is what the gateway, policy and router know about a provider.
//
// An adapter returns the same *Info for its whole lifetime: a
// policy.Permit is minted for one *Info and checked against it by pointer,
// so a permit for one upstream never opens another.
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
	// requests the provider's Forward accepts unchanged; empty when there
	// is none. An adapter whose Passthrough, Responses and Completions are
	// all unset refuses every Forward.
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
}
