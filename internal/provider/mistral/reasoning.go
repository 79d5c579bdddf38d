package mistral

import (
	"encoding/json"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Mistral's reasoning (https://docs.mistral.ai/capabilities/reasoning/):
//   - adjustable: mistral-small-latest (Mistral Small 4, mistral-small-2603)
//     and mistral-medium-3-5 take reasoning_effort "none" or "high";
//     Mistral Large 4 (mistral-large-4-0) takes "low", "medium" or "high";
//   - native: magistral-small and magistral-medium always reason
//     (deprecated, but still served).
//
// Either answers with content chunks of type "thinking" before the text
// (internal/api/openai reads them as reasoning), streamed as deltas whose
// content is a list holding a thinking chunk. Mistral asks for the
// thinking of earlier turns to be sent back as such chunks.

// effortLevels is the reasoning_effort levels a model takes, nil when it
// takes none.
func effortLevels(model string) []string {
	m := strings.ToLower(model)
	switch {
	case strings.HasPrefix(m, "mistral-large-4"):
		return []string{"low", "medium", "high"}
	case m == "mistral-small-latest", strings.HasPrefix(m, "mistral-small-2603"), strings.HasPrefix(m, "mistral-small-4"),
		strings.HasPrefix(m, "mistral-medium-3-5"), strings.HasPrefix(m, "mistral-medium-3.5"):
		return []string{"none", "high"}
	}
	return nil
}

// native reports whether a model always reasons (Magistral).
func native(model string) bool { return strings.HasPrefix(strings.ToLower(model), "magistral") }

// reasons reports whether a model reasons at all, so that earlier turns'
// thinking is sent back to it.
func reasons(model string) bool { return native(model) || effortLevels(model) != nil }

// reasoningEffort is the reasoning_effort sent for a request ("" for
// none), or the refusal of an explicit request the model cannot honour.
//   - a model with levels gets the request's level (a budget's level by
//     llm.EffortForBudget), mapped to the nearest it has: for none/high
//     models every level but "none" is "high"; for Large 4 "minimal" is
//     "low" and "xhigh" "high", "none" is not sent. Disabled thinking is
//     "none" where the model has it. Adaptive thinking alone sends
//     nothing (the model's default).
//   - Magistral reasons whatever is asked: an explicit request is
//     honoured by sending nothing, and disabling cannot be (the thinking
//     comes back anyway).
//   - any other model refuses an explicit request (400 naming the
//     client's field) and drops a hint, as before.
func reasoningEffort(provider string, req *llm.ChatRequest) (string, error) {
	r := req.Reasoning
	if r == nil {
		return "", nil
	}
	levels := effortLevels(req.Model)
	if levels == nil {
		if r.Explicit() && !native(req.Model) {
			return "", llm.Unsupported(provider, r.Param)
		}
		return "", nil
	}
	has := func(l string) bool {
		for _, x := range levels {
			if x == l {
				return true
			}
		}
		return false
	}
	e := r.EffortLevel()
	if r.Disabled {
		e = "none"
	}
	switch {
	case e == "":
		return "", nil
	case e == "none":
		if has("none") {
			return "none", nil
		}
		return "", nil
	case has(e):
		return e, nil
	case !has("low"): // none/high models
		return "high", nil
	case e == "minimal":
		return "low", nil
	}
	return "high", nil
}

// thinkChunk is Mistral's ThinkChunk.
type thinkChunk struct {
	Type     string      `json:"type"`
	Thinking []textChunk `json:"thinking"`
}

type textChunk struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// replayThoughts rewrites the encoded messages so that each assistant
// message with thoughts carries them as thinking chunks before its text:
// content [{"type":"thinking",...}, {"type":"text",...}]. Redacted
// thoughts have no text and are left out. encoded must hold one message
// per canonical message (what the OpenAI encoder writes); otherwise the
// messages are left as they are.
func replayThoughts(encoded json.RawMessage, msgs []llm.Message) (json.RawMessage, error) {
	var out []map[string]json.RawMessage
	if err := json.Unmarshal(encoded, &out); err != nil || len(out) != len(msgs) {
		return encoded, err
	}
	changed := false
	for i := range msgs {
		m := &msgs[i]
		if m.Role != llm.RoleAssistant || len(m.Thoughts) == 0 {
			continue
		}
		var parts []any
		for _, t := range m.Thoughts {
			if t.Text != "" {
				parts = append(parts, thinkChunk{Type: "thinking", Thinking: []textChunk{{Type: "text", Text: t.Text}}})
			}
		}
		if len(parts) == 0 {
			continue
		}
		if text := m.Text(); text != "" {
			parts = append(parts, textChunk{Type: "text", Text: text})
		}
		b, err := json.Marshal(parts)
		if err != nil {
			return nil, err
		}
		out[i]["content"] = b
		changed = true
	}
	if !changed {
		return encoded, nil
	}
	return json.Marshal(out)
}
