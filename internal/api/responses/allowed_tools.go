package responses

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// decodeAllowedTools reads tool_choice {"type": "allowed_tools", "mode":
// "auto" | "required", "tools": [{"type": "function", "name"}, {"type":
// "mcp", "server_label"}, {"type": "image_generation"}, ...]}, which keeps
// every tool declared (for OpenAI's prompt cache) and lets the model call
// only the listed ones
// (https://platform.openai.com/docs/api-reference/responses/create#responses_create-tool_choice).
// Pass-through forwards it unchanged; the canonical request gets its
// meaning: only the allowed function tools (a namespace's by "namespace"
// and "name"), with tool_choice auto or required (llm.ChatRequest.AllowTools).
// A tool that is not allowed is never offered, so one only the Responses
// API can run (custom, local_shell, ...) no longer makes a translated
// target refuse the request, and a hosted one is not reported dropped; an
// allowed one is refused or dropped as without allowed_tools. A function or
// custom entry naming no tool in tools is a 400 naming the entry; an entry
// of another kind that matches no declared tool (a whole namespace) is
// refused when translated.
func decodeAllowedTools(r *Request, mode, tools json.RawMessage) *llm.Error {
	var m string
	switch {
	case isNull(mode):
		return missing("tool_choice.mode")
	case json.Unmarshal(mode, &m) != nil:
		return invalid("tool_choice.mode", "Invalid type for 'tool_choice.mode': expected a string.")
	case m != "auto" && m != "required":
		return invalid("tool_choice.mode", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'auto' and 'required'.", m))
	}
	var entries []struct {
		Type      string `json:"type"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	switch {
	case isNull(tools):
		return missing("tool_choice.tools")
	case json.Unmarshal(tools, &entries) != nil:
		return invalid("tool_choice.tools", "Invalid type for 'tool_choice.tools': expected an array of tool objects.")
	}
	functions := make(map[string]bool, len(entries))
	// types are the other tool types allowed; custom tools by name.
	types := map[string]bool{}
	custom := map[string]bool{}
	for i := range entries {
		e := &entries[i]
		p := "tool_choice.tools[" + strconv.Itoa(i) + "]"
		switch e.Type {
		case "function":
			if e.Name == "" {
				return missing(p + ".name")
			}
			name := e.Name
			if e.Namespace != "" {
				name = e.Namespace + NamespaceSep + e.Name
			}
			if !slices.ContainsFunc(r.Chat.Tools, func(t llm.Tool) bool { return t.Name == name }) {
				return invalid(p+".name", fmt.Sprintf("Invalid value: '%s'. '%s' must name a function tool in 'tools'.", e.Name, p))
			}
			functions[name] = true
		case "custom":
			if e.Name == "" {
				return missing(p + ".name")
			}
			if !slices.ContainsFunc(r.upstreamTools, func(u upstreamTool) bool { return u.typ == "custom" && u.name == e.Name }) {
				return invalid(p+".name", fmt.Sprintf("Invalid value: '%s'. '%s' must name a custom tool in 'tools'.", e.Name, p))
			}
			custom[e.Name] = true
		case "":
			return missing(p + ".type")
		default:
			types[e.Type] = true
			if !slices.Contains(r.Hosted, e.Type) && !slices.ContainsFunc(r.upstreamTools, func(u upstreamTool) bool { return u.typ == e.Type }) {
				// A kind of entry this decoder cannot match to what it
				// offers (a namespace as a whole, a tool not declared):
				// refused when translated rather than guessed at.
				untranslatable(r.Chat, p+".type")
			}
		}
	}
	for _, u := range r.upstreamTools {
		if u.typ == "custom" && custom[u.name] || u.typ != "custom" && types[u.typ] {
			continue
		}
		// Never offered to the model, so nothing to refuse.
		r.Chat.Unsupported = slices.DeleteFunc(r.Chat.Unsupported, func(s string) bool { return s == u.path })
	}
	if len(r.Chat.Unsupported) == 0 {
		r.Chat.Unsupported = nil
	}
	r.Hosted = slices.DeleteFunc(r.Hosted, func(h string) bool { return !types[h] })
	if len(r.Hosted) == 0 {
		r.Hosted = nil
	}
	if !r.Chat.AllowTools(functions, llm.ToolChoiceMode(m)) {
		// "required" with no function tool allowed: a translated target
		// could offer none of the allowed tools.
		untranslatable(r.Chat, "tool_choice.tools")
	}
	return nil
}
