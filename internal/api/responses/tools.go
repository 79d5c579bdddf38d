package responses

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

type wireTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
	Tools       []wireTool      `json:"tools"`
	// Container is code_interpreter's: a container id, or {"type":"auto"}.
	Container json.RawMessage `json:"container"`
}

// hostedTools run on OpenAI's side; a model behind any other API can never
// call them, so a translated request does not offer them.
var hostedTools = map[string]bool{
	"web_search": true, "web_search_preview": true, "web_search_2025_08_26": true,
	"web_search_preview_2025_03_11": true, "file_search": true, "code_interpreter": true,
	"image_generation": true, "mcp": true, "computer_use_preview": true, "tool_search": true,
}

func decodeTools(raw json.RawMessage, r *Request) *llm.Error {
	if isNull(raw) {
		return nil
	}
	var tools []wireTool
	if err := json.Unmarshal(raw, &tools); err != nil {
		return invalid("tools", "Invalid 'tools': expected an array of tools.")
	}
	for i := range tools {
		t := &tools[i]
		p := "tools[" + strconv.Itoa(i) + "]"
		switch {
		case t.Type == "function":
			if t.Name == "" {
				return missing(p + ".name")
			}
			r.Chat.Tools = append(r.Chat.Tools, llm.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict})
		case t.Type == "namespace":
			if t.Name == "" {
				return missing(p + ".name")
			}
			for j := range t.Tools {
				f := &t.Tools[j]
				if f.Type != "function" || f.Name == "" {
					return invalid(fmt.Sprintf("%s.tools[%d]", p, j), "Namespace tools must be functions with a name.")
				}
				flat := t.Name + NamespaceSep + f.Name
				if r.Namespaced == nil {
					r.Namespaced = map[string][2]string{}
				}
				r.Namespaced[flat] = [2]string{t.Name, f.Name}
				desc := f.Description
				if t.Description != "" {
					desc = t.Description + "\n\n" + desc
				}
				r.Chat.Tools = append(r.Chat.Tools, llm.Tool{Name: flat, Description: desc, Parameters: f.Parameters, Strict: f.Strict})
			}
		case hostedTools[t.Type]:
			r.Hosted = append(r.Hosted, t.Type)
			var id string
			if t.Type == "code_interpreter" && json.Unmarshal(t.Container, &id) == nil && id != "" {
				// A container OpenAI keeps (its files, its Python state),
				// named by id: a reference like an item's.
				r.Refs = append(r.Refs, ItemRef{Param: p + ".container", ID: id, Container: true})
			}
		case t.Type == "":
			return missing(p + ".type")
		default:
			// custom (free-form, what Codex declares apply_patch as),
			// local_shell, shell, apply_patch, computer: call items
			// Fulcrum cannot produce from another API. Passed through to
			// an upstream serving the Responses API, refused elsewhere.
			untranslatable(r.Chat, p+".type")
			r.upstreamTools = append(r.upstreamTools, upstreamTool{path: p + ".type", typ: t.Type, name: t.Name})
		}
	}
	return nil
}

func decodeToolChoice(raw json.RawMessage, r *Request) *llm.Error {
	if isNull(raw) {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch llm.ToolChoiceMode(s) {
		case llm.ToolChoiceAuto, llm.ToolChoiceNone, llm.ToolChoiceRequired:
			r.Chat.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceMode(s)}
			return nil
		}
		return invalid("tool_choice", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'none', 'auto', and 'required'.", s))
	}
	var o struct {
		Type      string `json:"type"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		// allowed_tools
		Mode  json.RawMessage `json:"mode"`
		Tools json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return invalid("tool_choice", "Invalid type for 'tool_choice': expected a string or an object.")
	}
	switch o.Type {
	case "function":
	case "allowed_tools":
		return decodeAllowedTools(r, o.Mode, o.Tools)
	case "":
		return missing("tool_choice.type")
	default:
		// custom, mcp, a hosted tool: passed through to an upstream
		// serving the Responses API, refused elsewhere.
		untranslatable(r.Chat, "tool_choice.type")
		return nil
	}
	if o.Name == "" {
		return missing("tool_choice.name")
	}
	name := o.Name
	if o.Namespace != "" {
		name = o.Namespace + NamespaceSep + o.Name
	}
	r.Chat.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: name}
	return nil
}

// decodeText reads text.format (structured output) and text.verbosity.
func decodeText(raw json.RawMessage, chat *llm.ChatRequest) *llm.Error {
	if isNull(raw) {
		return nil
	}
	var t struct {
		Format *struct {
			Type   string          `json:"type"`
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict *bool           `json:"strict"`
		} `json:"format"`
		Verbosity string `json:"verbosity"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return invalid("text", "Invalid 'text': expected an object.")
	}
	// text.verbosity is a hint about the answer's length that only
	// OpenAI's GPT-5 family reads: it travels on pass-through and is left
	// out when translated, as a reasoning hint is. Refusing it refused
	// Codex (which sends it for some GPT-5 model names) wherever policy kept a
	// request on a self-hosted model.
	if f := t.Format; f != nil {
		switch f.Type {
		case "text":
		case "json_object":
			chat.ResponseFormat = &llm.ResponseFormat{Type: f.Type}
		case "json_schema":
			if f.Name == "" {
				return missing("text.format.name")
			}
			if isNull(f.Schema) {
				return missing("text.format.schema")
			}
			chat.ResponseFormat = &llm.ResponseFormat{Type: f.Type, Name: f.Name, Schema: f.Schema, Strict: f.Strict}
		case "":
			return missing("text.format.type")
		default:
			return invalid("text.format.type", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'text', 'json_object', and 'json_schema'.", f.Type))
		}
	}
	return nil
}

var efforts = map[string]bool{"none": true, "minimal": true, "low": true, "medium": true, "high": true, "xhigh": true, "max": true}

func decodeReasoning(raw json.RawMessage, chat *llm.ChatRequest) *llm.Error {
	if isNull(raw) {
		return nil
	}
	var w struct {
		Effort          *string `json:"effort"`
		Summary         *string `json:"summary"`
		GenerateSummary *string `json:"generate_summary"`
		Mode            *string `json:"mode"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return invalid("reasoning", "Invalid 'reasoning': expected an object.")
	}
	if w.Mode != nil && *w.Mode != "standard" {
		// An execution mode ("pro") only OpenAI runs; "standard" is
		// every model's.
		untranslatable(chat, "reasoning.mode")
	}
	r := &llm.Reasoning{Param: "reasoning.effort"}
	if w.Effort != nil {
		if !efforts[*w.Effort] {
			return invalid("reasoning.effort", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', 'xhigh', and 'max'.", *w.Effort))
		}
		r.Effort = *w.Effort
		if r.Effort == "max" {
			// OpenAI's highest level since 2026: forwarded as it is on
			// pass-through; translated, the canonical model's highest.
			r.Effort = "xhigh"
		}
	}
	if w.Summary != nil {
		r.Summary = *w.Summary
	} else if w.GenerateSummary != nil {
		r.Summary = *w.GenerateSummary
	}
	if r.Effort != "" || r.Summary != "" {
		chat.Reasoning = r
	}
	return nil
}
