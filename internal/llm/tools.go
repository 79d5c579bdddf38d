package llm

// AllowTools honours OpenAI's tool_choice {"type": "allowed_tools"} (Chat
// Completions and Responses) on a target that has no such choice: the model
// is offered only the function tools whose names are in allowed, with
// tool_choice auto or required (mode). When allowed holds none of them,
// "auto" lets the model call none of its tools, which is tool_choice none
// with the tools still declared (their calls in earlier turns keep a
// definition, which Anthropic requires); "required" cannot be honoured
// then, and AllowTools reports false, leaving r unchanged.
//
// https://platform.openai.com/docs/api-reference/chat/create#chat_create-tool_choice
func (r *ChatRequest) AllowTools(allowed map[string]bool, mode ToolChoiceMode) bool {
	kept := make([]Tool, 0, len(allowed))
	for _, t := range r.Tools {
		if allowed[t.Name] {
			kept = append(kept, t)
		}
	}
	switch {
	case len(kept) > 0:
		r.Tools = kept
		r.ToolChoice = &ToolChoice{Mode: mode}
	case mode == ToolChoiceRequired:
		return false
	default:
		r.ToolChoice = &ToolChoice{Mode: ToolChoiceNone}
	}
	return true
}
