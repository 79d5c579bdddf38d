package anthropic

import (
	"errors"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

var errNotObject = errors.New("not a JSON object")

func val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// canonicalUsage converts Anthropic usage: its input_tokens excludes cache
// reads and writes, the canonical InputTokens includes them.
func canonicalUsage(u *wireUsage) *llm.Usage {
	read, write := val(u.CacheReadInputTokens), val(u.CacheCreationInputTokens)
	return &llm.Usage{
		InputTokens:      val(u.InputTokens) + read + write,
		OutputTokens:     val(u.OutputTokens),
		CacheReadTokens:  read,
		CacheWriteTokens: write,
	}
}

// anthropicInput is Anthropic's input_tokens for canonical usage: the
// input without the cache reads and writes.
func anthropicInput(u *llm.Usage) int64 {
	n := u.InputTokens - u.CacheReadTokens - u.CacheWriteTokens
	if n < 0 {
		return 0
	}
	return n
}

// Stop reasons, both ways.
// https://docs.anthropic.com/en/api/handling-stop-reasons
func finishReason(stopReason string) string {
	switch stopReason {
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "refusal":
		return llm.FinishContentFilter
	default: // end_turn, stop_sequence, pause_turn
		return llm.FinishStop
	}
}

func stopReason(finish, stopSequence string) string {
	switch finish {
	case llm.FinishLength:
		return "max_tokens"
	case llm.FinishToolCalls:
		return "tool_use"
	case llm.FinishContentFilter:
		return "refusal"
	}
	if stopSequence != "" {
		return "stop_sequence"
	}
	return "end_turn"
}
