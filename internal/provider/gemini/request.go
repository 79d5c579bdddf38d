package gemini

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// skipSignature is the placeholder thought signature Google documents for
// function calls whose real signature is not known (history written by
// another model, or a signature the gateway no longer holds):
// "skip_thought_signature_validator"
// (https://ai.google.dev/gemini-api/docs/thought-signatures#faqs). Gemini 3
// rejects a model turn whose first function call carries no signature.
// The real one is the tool call's Signature, which the gateway keeps per
// key and sets on the turns it sends back to the Gemini target that
// made the calls.
const skipSignature = "skip_thought_signature_validator"

// filesPrefix is the URI prefix of files uploaded with the Gemini Files
// API, the only image URLs Gemini reads through fileData.
const filesPrefix = "https://generativelanguage.googleapis.com/"

// toRequest translates a canonical chat request into a Gemini
// GenerateContentRequest. It is a pure function.
//
// A final assistant message (an Anthropic client's prefill) is sent as a
// final model turn, which Gemini continues; models that refuse one answer
// with their own 400 ("Requests ending with a model turn are not
// supported"), which reaches the client as a 400.
func toRequest(req *llm.ChatRequest) (*generateRequest, error) {
	for _, name := range req.Unsupported {
		if !req.ReasoningParam(name) {
			return nil, llm.Unsupported(providerType, name)
		}
	}
	if req.N > 1 && req.Stream {
		// A canonical chunk carries one choice; Gemini streams interleave
		// candidates, so n>1 is only offered without streaming.
		return nil, llm.Unsupported(providerType, "n")
	}
	out := &generateRequest{Contents: make([]content, 0, len(req.Messages))}
	if err := toContents(out, req.Messages); err != nil {
		return nil, err
	}
	if len(req.Tools) > 0 {
		decls := make([]functionDeclaration, len(req.Tools))
		for i, t := range req.Tools {
			decls[i] = functionDeclaration{Name: t.Name, Description: t.Description}
			if len(t.Parameters) > 0 && string(t.Parameters) != "null" {
				decls[i].ParametersJSONSchema = t.Parameters
			}
		}
		out.Tools = []tool{{FunctionDeclarations: decls}}
	}
	strict := strictTools(req.Tools)
	if tc := req.ToolChoice; (tc != nil || strict) && len(req.Tools) > 0 {
		if tc == nil {
			tc = &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
		}
		cfg := functionCallingConfig{}
		switch tc.Mode {
		case llm.ToolChoiceAuto, "":
			cfg.Mode = "AUTO"
			if strict {
				// A strict tool's arguments must match its schema:
				// VALIDATED is AUTO with function calls made by
				// constrained decoding. (ANY constrains its calls
				// already.) Vertex AI's v1 API has it too
				// (FunctionCallingConfig.Mode VALIDATED,
				// https://cloud.google.com/vertex-ai/docs/reference/rest/v1/Tool#mode);
				// it was refused there before, which failed an agent's
				// second turn: the OpenAI Agents SDK forces the first
				// call (tool_choice required) and then resets
				// tool_choice, leaving strict tools on auto.
				cfg.Mode = "VALIDATED"
			}
		case llm.ToolChoiceNone:
			cfg.Mode = "NONE"
		case llm.ToolChoiceRequired:
			cfg.Mode = "ANY"
		case llm.ToolChoiceTool:
			cfg.Mode = "ANY"
			cfg.AllowedFunctionNames = []string{tc.Name}
		default:
			return nil, llm.Errorf("tool_choice", "unknown tool_choice mode %q", tc.Mode)
		}
		out.ToolConfig = &toolConfig{FunctionCallingConfig: cfg}
	}
	gc := generationConfig{
		StopSequences:    req.Stop,
		MaxOutputTokens:  req.MaxTokens,
		Temperature:      req.Temperature,
		TopP:             req.TopP,
		TopK:             req.TopK,
		Seed:             req.Seed,
		PresencePenalty:  req.PresencePenalty,
		FrequencyPenalty: req.FrequencyPenalty,
	}
	if req.N > 1 {
		gc.CandidateCount = req.N
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			gc.ResponseMimeType = "application/json"
			if len(rf.Schema) > 0 {
				gc.ResponseJSONSchema = rf.Schema
			}
		default:
			return nil, llm.Errorf("response_format", "unknown response_format type %q", rf.Type)
		}
	}
	gc.ThinkingConfig = thinking(req)
	if !gc.empty() {
		out.GenerationConfig = &gc
	}
	return out, nil
}

// strictTools reports whether any tool asks for strict: true (OpenAI's
// function.strict, Anthropic's strict tool use). Gemini's
// functionCallingConfig applies to every function at once, so one strict
// tool validates the calls of all of them, a stronger guarantee than the
// others asked for and never a weaker one
// (https://ai.google.dev/gemini-api/docs/function-calling#function_calling_modes:
// ANY "guarantees function schema adherence", VALIDATED "ensures function
// schema adherence").
func strictTools(tools []llm.Tool) bool {
	for _, t := range tools {
		if t.Strict != nil && *t.Strict {
			return true
		}
	}
	return false
}

// maxThinkingBudget is the largest budget every thinking Gemini model
// takes (2.5 Flash's; Pro goes to 32768).
const maxThinkingBudget = 24576

// thinking maps the request's reasoning (docs/providers/gemini.md):
// adaptive thinking is Gemini's dynamic thinking (budget -1), a budget or
// an effort a budget (efforts by llm.BudgetForEffort), disabled thinking
// budget 0. Thoughts are returned unless the client asked for them to be
// omitted (Anthropic display: "omitted"). An effort alone
// (output_config.effort) leaves Gemini's default, and so does a hint to a
// model that cannot think (Gemini 1.x and 2.0, Gemma).
func thinking(req *llm.ChatRequest) *thinkingConfig {
	r := req.Reasoning
	if r == nil || r.Hint && !geminiThinks(req.Model) {
		return nil
	}
	var budget int
	switch {
	case r.Disabled || r.Effort == "none":
		return &thinkingConfig{ThinkingBudget: &budget}
	case r.Adaptive:
		budget = -1
	case r.Hint:
		return nil
	default:
		budget = min(r.Budget(), maxThinkingBudget)
		if budget == 0 {
			return nil
		}
	}
	return &thinkingConfig{ThinkingBudget: &budget, IncludeThoughts: r.Display != "omitted"}
}

// geminiThinks reports whether a model is of a family that thinks.
func geminiThinks(model string) bool {
	for _, p := range [...]string{"gemini-1", "gemini-2.0", "gemma"} {
		if strings.HasPrefix(model, p) {
			return false
		}
	}
	return true
}

// toContents fills the system instruction and the turns.
//
// Gemini has one system instruction, so every system message (wherever it
// stands) becomes a part of it. Tool results become functionResponse parts
// in a "user" turn, consecutive results sharing one turn as Gemini wants
// for parallel calls. A canonical tool message names its call by ID, while
// Gemini names the function, so the names are found by scanning the
// assistant tool calls earlier in the request. Call IDs are not sent: the
// Gemini API matches responses to calls by name and order, and an ID it did
// not issue could be refused.
func toContents(out *generateRequest, msgs []llm.Message) error {
	var names map[string]string // tool call ID -> function name
	for i := range msgs {
		m := msgs[i].NameFolded() // Gemini contents have no author name
		switch m.Role {
		case llm.RoleSystem:
			if out.SystemInstruction == nil {
				out.SystemInstruction = &content{}
			}
			for _, p := range m.Content {
				if p.Type == llm.PartText && p.Text != "" {
					out.SystemInstruction.Parts = append(out.SystemInstruction.Parts, part{Text: p.Text})
				}
			}
		case llm.RoleUser:
			parts, err := userParts(m, i)
			if err != nil {
				return err
			}
			if len(parts) > 0 {
				out.Contents = append(out.Contents, content{Role: "user", Parts: parts})
			}
		case llm.RoleAssistant:
			parts := make([]part, 0, len(m.Content)+len(m.ToolCalls))
			for _, p := range m.Content {
				if p.Type == llm.PartText && p.Text != "" {
					parts = append(parts, part{Text: p.Text})
				}
			}
			for j, tc := range m.ToolCalls {
				args := json.RawMessage(tc.Arguments)
				if strings.TrimSpace(tc.Arguments) == "" {
					args = json.RawMessage("{}")
				} else if !json.Valid(args) {
					return llm.Errorf(fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j), "arguments are not valid JSON")
				}
				// The signature goes back on the part it came with
				// (https://ai.google.dev/gemini-api/docs/thought-signatures).
				p := part{FunctionCall: &functionCall{Name: tc.Name, Args: args}, ThoughtSignature: tc.Signature}
				if j == 0 && p.ThoughtSignature == "" {
					p.ThoughtSignature = skipSignature
				}
				parts = append(parts, p)
				if names == nil {
					names = make(map[string]string)
				}
				names[tc.ID] = tc.Name
			}
			if len(parts) > 0 {
				out.Contents = append(out.Contents, content{Role: "model", Parts: parts})
			}
		case llm.RoleTool:
			name := names[m.ToolCallID]
			if name == "" {
				name = m.Name
			}
			if name == "" {
				return llm.Errorf(fmt.Sprintf("messages[%d].tool_call_id", i), "tool message answers tool_call_id %q, which no earlier assistant message calls", m.ToolCallID)
			}
			key := "result"
			if m.IsError {
				key = "error"
			}
			resp, err := json.Marshal(map[string]string{key: m.Text()})
			if err != nil {
				return fmt.Errorf("gemini: encode tool result: %w", err)
			}
			p := part{FunctionResponse: &functionResponse{Name: name, Response: resp}}
			if n := len(out.Contents); i > 0 && msgs[i-1].Role == llm.RoleTool && n > 0 {
				out.Contents[n-1].Parts = append(out.Contents[n-1].Parts, p)
			} else {
				out.Contents = append(out.Contents, content{Role: "user", Parts: []part{p}})
			}
		default:
			return llm.Errorf(fmt.Sprintf("messages[%d].role", i), "unknown role %q", m.Role)
		}
	}
	return nil
}

// userParts converts a user message's text and images.
func userParts(m *llm.Message, i int) ([]part, error) {
	parts := make([]part, 0, len(m.Content))
	for _, p := range m.Content {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				parts = append(parts, part{Text: p.Text})
			}
		case llm.PartImage:
			img := p.Image
			switch {
			case img == nil:
				return nil, llm.Errorf(fmt.Sprintf("messages[%d].content", i), "image part without an image")
			case img.Data != "":
				mt := img.MediaType
				if mt == "" {
					return nil, llm.Errorf(fmt.Sprintf("messages[%d].content", i), "inline image without a media type")
				}
				parts = append(parts, part{InlineData: &blob{MimeType: mt, Data: img.Data}})
			case strings.HasPrefix(img.URL, filesPrefix):
				// A file uploaded with the Gemini Files API.
				parts = append(parts, part{FileData: &fileData{MimeType: img.MediaType, FileURI: img.URL}})
			default:
				// Gemini does not fetch arbitrary URLs in fileData.
				return nil, llm.Errorf(fmt.Sprintf("messages[%d].content", i),
					"provider gemini does not fetch image URLs; send the image inline as a base64 data: URL")
			}
		}
	}
	return parts, nil
}

func (g *generationConfig) empty() bool {
	return len(g.StopSequences) == 0 && g.ResponseMimeType == "" && len(g.ResponseJSONSchema) == 0 &&
		g.CandidateCount == 0 && g.MaxOutputTokens == nil && g.Temperature == nil && g.TopP == nil &&
		g.TopK == nil && g.Seed == nil && g.PresencePenalty == nil && g.FrequencyPenalty == nil && g.ThinkingConfig == nil
}
