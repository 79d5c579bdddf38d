package provider

import "github.com/fulcrumhq/fulcrum/internal/llm"

// parallel_tool_calls: false asks for at most one tool call per answer.
// Gemini, Ollama and Bedrock's Converse have no such switch, and Codex
// sends the field on every request, so refusing it would refuse Codex on
// those targets. Adapters without the switch honour it on the answer
// instead: the first tool call is kept and any later one in the same
// answer dropped, which is what the client asked to receive. The model
// makes the dropped call again on its next turn if it still needs it. The
// tokens it spent on them are still counted: the upstream bills them.

// OneToolCall reports whether req asks for at most one tool call.
func OneToolCall(req *llm.ChatRequest) bool {
	return req.ParallelToolCalls != nil && !*req.ParallelToolCalls && len(req.Tools) > 0
}

// KeepFirstToolCall drops every tool call after the first from each
// choice of resp when req asks for at most one, and returns resp.
func KeepFirstToolCall(req *llm.ChatRequest, resp *llm.ChatResponse) *llm.ChatResponse {
	if resp == nil || !OneToolCall(req) {
		return resp
	}
	for i := range resp.Choices {
		if m := &resp.Choices[i].Message; len(m.ToolCalls) > 1 {
			m.ToolCalls = m.ToolCalls[:1]
		}
	}
	return resp
}

// FirstToolCallStream wraps s so that, when req asks for at most one tool
// call, only the deltas of the first tool call streamed are passed on;
// a chunk left with nothing to say is skipped.
func FirstToolCallStream(req *llm.ChatRequest, s Stream) Stream {
	if !OneToolCall(req) {
		return s
	}
	return &firstToolCall{Stream: s, first: -1}
}

type firstToolCall struct {
	Stream
	first int
}

func (f *firstToolCall) Recv() (*llm.Chunk, error) {
	for {
		ch, err := f.Stream.Recv()
		if err != nil || len(ch.ToolCalls) == 0 {
			return ch, err
		}
		kept := ch.ToolCalls[:0]
		for _, d := range ch.ToolCalls {
			if f.first < 0 {
				f.first = d.Index
			}
			if d.Index == f.first {
				kept = append(kept, d)
			}
		}
		ch.ToolCalls = kept
		if len(kept) > 0 || ch.Role != "" || ch.Text != "" || ch.Reasoning != "" || ch.Signature != "" || ch.Redacted != "" ||
			ch.FinishReason != "" || ch.StopSequence != "" || ch.Usage != nil {
			return ch, nil
		}
	}
}
