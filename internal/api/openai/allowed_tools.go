package openai

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// allowedTool is one entry of tool_choice.allowed_tools.tools: a function
// or a custom tool named as in tools.
type allowedTool struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
	Custom struct {
		Name string `json:"name"`
	} `json:"custom"`
}

// decodeAllowedTools reads tool_choice {"type": "allowed_tools",
// "allowed_tools": {"mode": "auto" | "required", "tools": [{"type":
// "function", "function": {"name"}}, ...]}}, which keeps every tool
// declared (for OpenAI's prompt cache) and lets the model call only the
// listed ones
// (https://platform.openai.com/docs/api-reference/chat/create#chat_create-tool_choice).
// Pass-through forwards it unchanged; the canonical request gets its
// meaning, which every target can honour: only the allowed function tools,
// with tool_choice auto or required (llm.ChatRequest.AllowTools). A custom
// tool that is not allowed is then never offered, so it no longer makes a
// translated target refuse the request; an allowed one still does. An entry
// naming no tool in tools is a 400 naming the entry.
func decodeAllowedTools(req *llm.ChatRequest, raw json.RawMessage, custom map[string]string) (*llm.ToolChoice, *llm.Error) {
	const p = "tool_choice.allowed_tools"
	if len(raw) == 0 || bytes.Equal(raw, nullJSON) {
		return nil, missing(p, "Missing required parameter: '"+p+"'.")
	}
	var w struct {
		Mode  json.RawMessage `json:"mode"`
		Tools json.RawMessage `json:"tools"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &w) != nil {
		return nil, llm.Errorf(p, "Invalid type for '%s': expected an object.", p)
	}
	var mode string
	switch {
	case len(w.Mode) == 0 || bytes.Equal(w.Mode, nullJSON):
		return nil, missing(p+".mode", "Missing required parameter: '"+p+".mode'.")
	case w.Mode[0] != '"' || unquote(w.Mode, &mode) != nil:
		return nil, llm.Errorf(p+".mode", "Invalid type for '%s.mode': expected a string.", p)
	case mode != "auto" && mode != "required":
		return nil, invalidValue(p+".mode", "Invalid value: '%s'. Supported values are: 'auto' and 'required'.", mode)
	}
	var entries []allowedTool
	switch {
	case len(w.Tools) == 0 || bytes.Equal(w.Tools, nullJSON):
		return nil, missing(p+".tools", "Missing required parameter: '"+p+".tools'.")
	case w.Tools[0] != '[' || json.Unmarshal(w.Tools, &entries) != nil:
		return nil, llm.Errorf(p+".tools", "Invalid type for '%s.tools': expected an array of tool objects.", p)
	}
	allowed := make(map[string]bool, len(entries))
	allowedCustom := map[string]bool{}
	for i := range entries {
		e := &entries[i]
		ep := p + ".tools[" + strconv.Itoa(i) + "]"
		switch e.Type {
		case "function":
			name := e.Function.Name
			if name == "" {
				return nil, missing(ep+".function.name", "Missing required parameter: '"+ep+".function.name'.")
			}
			if !slices.ContainsFunc(req.Tools, func(t llm.Tool) bool { return t.Name == name }) {
				return nil, invalidValue(ep+".function.name", "Invalid value: '%s'. '%s.function.name' must name a function tool in 'tools'.", name, ep)
			}
			allowed[name] = true
		case "custom":
			name := e.Custom.Name
			if name == "" {
				return nil, missing(ep+".custom.name", "Missing required parameter: '"+ep+".custom.name'.")
			}
			if _, ok := custom[name]; !ok {
				return nil, invalidValue(ep+".custom.name", "Invalid value: '%s'. '%s.custom.name' must name a custom tool in 'tools'.", name, ep)
			}
			allowedCustom[name] = true
		case "":
			return nil, missing(ep+".type", "Missing required parameter: '"+ep+".type'.")
		default:
			return nil, invalidValue(ep+".type", "Invalid value: '%s'. Supported values are: 'function' and 'custom'.", e.Type)
		}
	}
	for name, path := range custom {
		if !allowedCustom[name] {
			// Never offered to the model, so nothing to refuse.
			req.Unsupported = slices.DeleteFunc(req.Unsupported, func(u string) bool { return u == path })
		}
	}
	if !req.AllowTools(allowed, llm.ToolChoiceMode(mode)) {
		// "required" with no function tool allowed: only custom tools,
		// which a translated target refuses anyway, or none at all.
		upstreamOnly(req, p+".tools")
		return nil, nil
	}
	if len(req.Unsupported) == 0 {
		req.Unsupported = nil
	}
	return req.ToolChoice, nil
}
