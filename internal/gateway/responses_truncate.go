package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// truncation "auto" on translated targets.
//
// OpenAI's Responses API: "auto: if the input to this Response exceeds
// the model's context window size, the model will truncate the response
// to fit the context window by dropping items from the beginning of the
// conversation"; "disabled" (the default) fails the request with a 400
// (https://platform.openai.com/docs/api-reference/responses/create#responses-create-truncation).
// A request that fits is the same either way, so a translated target
// gets it as written; when its upstream refuses it for its length (the
// context-length error each provider documents), the gateway drops the
// oldest turns and asks again, as OpenAI would have. A turn is a user
// message with what follows it up to the next user message (the
// assistant's answers, tool calls and their results), so a tool call is
// never separated from its result and the conversation still starts
// with a user message; system instructions (developer ones too) are always
// kept, and so is the last turn. Each retry drops half the remaining
// turns but the last; when only the last is left the upstream's error
// is the client's. Dropping only removes what policy scanned, so what
// leaves is still within it.

// maxTruncations bounds the retries of one attempt (halving, 2^8 turns).
const maxTruncations = 8

// truncates reports whether the call's client asked for truncation
// "auto" (only the Responses API has it).
func (c *chatCall) truncates() bool {
	return c.in != nil && c.in.responses != nil && c.in.responses.TruncateAuto
}

// chatUpstream is one translated non-streaming call to t, truncated and
// retried on a context-length refusal when the client asked for it.
func (c *chatCall) chatUpstream(ctx context.Context, t *Target, pm policy.Permit) (*llm.ChatResponse, error) {
	req := c.upstreamRequest(t)
	for i := 0; ; i++ {
		out, err := t.Provider.Chat(ctx, pm, req)
		if err == nil || i == maxTruncations || !c.truncates() || !contextOverflow(err) {
			return out, err
		}
		if req = dropOldestTurns(req); req == nil {
			return out, err
		}
	}
}

// streamUpstream is chatUpstream for a stream: the refusal comes before
// the stream opens.
func (c *chatCall) streamUpstream(ctx context.Context, t *Target, pm policy.Permit) (provider.Stream, error) {
	req := c.upstreamRequest(t)
	for i := 0; ; i++ {
		st, err := t.Provider.ChatStream(ctx, pm, req)
		if err == nil || i == maxTruncations || !c.truncates() || !contextOverflow(err) {
			return st, err
		}
		if req = dropOldestTurns(req); req == nil {
			return st, err
		}
	}
}

// contextOverflow reports whether err is an upstream's refusal of a
// request for its length: OpenAI's context_length_exceeded, Anthropic's
// "prompt is too long", Bedrock's "Input is too long for requested
// model", Gemini's "input token count ... exceeds the maximum number of
// tokens allowed", and the "maximum context length" of OpenAI-compatible
// servers (vLLM, llama.cpp, Ollama).
func contextOverflow(err error) bool {
	e := llm.AsError(err)
	if e.Status != http.StatusBadRequest && e.Status != http.StatusRequestEntityTooLarge {
		return false
	}
	if e.Code == "context_length_exceeded" {
		return true
	}
	m := strings.ToLower(e.Message)
	for _, s := range []string{"context_length_exceeded", "prompt is too long", "input is too long", "maximum context length",
		"context window", "exceeds the maximum number of tokens", "context length"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// dropOldestTurns returns a copy of r without the older half of its
// turns (never the last), or nil when there is nothing left to drop.
func dropOldestTurns(r *llm.ChatRequest) *llm.ChatRequest {
	var starts []int // index of each turn's user message
	for i, m := range r.Messages {
		if m.Role == llm.RoleUser {
			starts = append(starts, i)
		}
	}
	if len(starts) < 2 {
		return nil
	}
	drop := len(starts) / 2 // of n turns, n/2 go: the last always stays
	from, to := starts[0], starts[drop]
	out := *r
	out.Messages = make([]llm.Message, 0, len(r.Messages)-(to-from))
	for i, m := range r.Messages {
		if i >= from && i < to && m.Role != llm.RoleSystem {
			continue
		}
		out.Messages = append(out.Messages, m)
	}
	return &out
}
