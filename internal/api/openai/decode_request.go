package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// DecodeChatRequest decodes a client's chat completion request. Every
// failure is a 400 *llm.Error whose Param is the JSON path at fault, e.g.
// "messages[2].content", as OpenAI reports it.
//
// Parameters OpenAI accepts but the canonical model does not carry
// (logprobs, logit_bias, service_tier, ...) are listed in Unsupported so
// that targets which cannot honour them refuse the request. Unknown fields
// are ignored, as OpenAI-compatible servers do.
func DecodeChatRequest(body []byte) (*llm.ChatRequest, error) {
	var w chatRequest
	if err := readChatRequest(body, &w); err != nil {
		return nil, decodeError(body, err)
	}
	if w.Model == "" {
		return nil, missing("model", "you must provide a model parameter")
	}
	if w.Messages == nil {
		return nil, missing("messages", "Missing required parameter: 'messages'.")
	}
	if len(w.Messages) == 0 {
		e := llm.Errorf("messages", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
		e.Code = "empty_array"
		return nil, e
	}
	req := &llm.ChatRequest{
		Model:             w.Model,
		Messages:          make([]llm.Message, len(w.Messages)),
		ParallelToolCalls: w.ParallelToolCalls,
		Temperature:       w.Temperature,
		TopP:              w.TopP,
		TopK:              w.TopK,
		Stop:              []string(w.Stop),
		Seed:              w.Seed,
		PresencePenalty:   w.PresencePenalty,
		FrequencyPenalty:  w.FrequencyPenalty,
		User:              w.User,
		Stream:            w.Stream,
		IncludeUsage:      w.Stream && w.StreamOptions != nil && w.StreamOptions.IncludeUsage,
		Unsupported:       w.unsupported(),
	}
	if si := w.SafetyIdentifier; len(si) > 0 && !bytes.Equal(si, nullJSON) {
		// safety_identifier replaces user (a stable id of the end user for
		// abuse detection), what Anthropic's metadata.user_id is for.
		var id string
		if si[0] != '"' || unquote(si, &id) != nil {
			return nil, llm.Errorf("safety_identifier", "Invalid type for 'safety_identifier': expected a string.")
		}
		if req.User == "" {
			req.User = id
		}
	}
	if w.standardTier() != "" {
		setExtra(req, ExtraServiceTier, w.ServiceTier)
	}
	if k := w.PromptCacheKey; len(k) > 0 && !bytes.Equal(k, nullJSON) {
		if k[0] != '"' {
			return nil, llm.Errorf("prompt_cache_key", "Invalid type for 'prompt_cache_key': expected a string.")
		}
		// A hint for OpenAI's prompt cache: OpenAI-format targets get it,
		// the others cache (or not) on their own and the answer is the
		// same.
		setExtra(req, ExtraPromptCacheKey, k)
	}
	// One allocation holds the single part of every string-content message.
	n := 0
	for i := range w.Messages {
		if w.Messages[i].Content.isString {
			n++
		}
	}
	slab := make([]llm.Part, n)
	for i := range w.Messages {
		if err := decodeMessage(req, &w.Messages[i], i, &req.Messages[i], &slab); err != nil {
			return nil, err
		}
	}
	switch {
	case w.MaxTokens != nil && w.MaxCompletionTokens != nil:
		return nil, llm.Errorf("max_tokens", "Invalid request: set either 'max_tokens' or 'max_completion_tokens', not both.")
	case w.MaxTokens != nil:
		req.MaxTokens = w.MaxTokens
	case w.MaxCompletionTokens != nil:
		req.MaxTokens = w.MaxCompletionTokens
	}
	if req.MaxTokens != nil && *req.MaxTokens < 1 {
		p := "max_tokens"
		if w.MaxCompletionTokens != nil {
			p = "max_completion_tokens"
		}
		return nil, invalidValue(p, "Invalid '%s': integer below minimum value. Expected a value >= 1, but got %d instead.", p, *req.MaxTokens)
	}
	if w.N != nil {
		if *w.N < 1 {
			return nil, invalidValue("n", "Invalid 'n': integer below minimum value. Expected a value >= 1, but got %d instead.", *w.N)
		}
		req.N = *w.N
	}
	// custom maps the name of each custom tool to the path that notes it
	// as upstream-only, for allowed_tools.
	var custom map[string]string
	if len(w.Tools) > 0 {
		req.Tools = make([]llm.Tool, 0, len(w.Tools))
		for i, t := range w.Tools {
			p := func() string { return "tools[" + strconv.Itoa(i) + "]" }
			switch t.Type {
			case "function", "":
			case "custom":
				// A free-form tool (text in, grammar-constrained):
				// passed through to OpenAI, refused by translated targets.
				upstreamOnly(req, p()+".type")
				if custom == nil {
					custom = map[string]string{}
				}
				custom[t.Custom.Name] = p() + ".type"
				continue
			default:
				return nil, invalidValue(p()+".type", "Invalid value: '%s'. Supported values are: 'function' and 'custom'.", t.Type)
			}
			if t.Function.Name == "" {
				return nil, missing(p()+".function.name", "Missing required parameter: '"+p()+".function.name'.")
			}
			req.Tools = append(req.Tools, llm.Tool{
				Name:         t.Function.Name,
				Description:  t.Function.Description,
				Parameters:   t.Function.Parameters,
				Strict:       t.Function.Strict,
				CacheControl: cacheControl(t.CacheControl),
			})
		}
	}
	if len(req.Tools) == 0 {
		req.Tools = nil
	}
	if len(w.ToolChoice) > 0 && !bytes.Equal(w.ToolChoice, nullJSON) {
		tc, err := decodeToolChoice(req, w.ToolChoice, custom)
		if err != nil {
			return nil, err
		}
		req.ToolChoice = tc
	}
	if len(w.ReasoningEffort) > 0 && !bytes.Equal(w.ReasoningEffort, nullJSON) {
		// Kept in Unsupported too: a target that does not translate
		// reasoning refuses it (see llm.ChatRequest.ReasoningParam).
		var e string
		if unquote(w.ReasoningEffort, &e) != nil || w.ReasoningEffort[0] != '"' {
			return nil, llm.Errorf("reasoning_effort", "Invalid type for 'reasoning_effort': expected a string.")
		}
		switch e {
		case "none", "minimal", "low", "medium", "high", "xhigh":
		case "max":
			// OpenAI's highest level since 2026 (openai-node 6.46):
			// forwarded as it is on pass-through; translated, the
			// highest level the canonical model has, as Anthropic's
			// output_config.effort "max" is.
			e = "xhigh"
		default:
			return nil, invalidValue("reasoning_effort", "Invalid value: '%s'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', 'xhigh', and 'max'.", e)
		}
		req.Reasoning = &llm.Reasoning{Effort: e, Param: "reasoning_effort"}
	}
	if w.ResponseFormat != nil {
		rf, err := decodeResponseFormat(w.ResponseFormat)
		if err != nil {
			return nil, err
		}
		req.ResponseFormat = rf
	}
	return req, nil
}

// decodeMessage decodes w into m; a string content's part is taken from
// the front of *slab (capacity 1: an append copies it).
func decodeMessage(req *llm.ChatRequest, w *message, i int, m *llm.Message, slab *[]llm.Part) *llm.Error {
	// The path is only spelt out for an error.
	p := func() string { return "messages[" + strconv.Itoa(i) + "]" }
	switch w.Role {
	case "system", "developer":
		// developer replaces system for o-series models; same meaning.
		m.Role = llm.RoleSystem
	case "user":
		m.Role = llm.RoleUser
	case "assistant":
		m.Role = llm.RoleAssistant
	case "tool":
		m.Role = llm.RoleTool
		if w.ToolCallID == "" {
			return missing(p()+".tool_call_id", "Missing required parameter: '"+p()+".tool_call_id'.")
		}
		m.ToolCallID = w.ToolCallID
	case "function":
		return invalidValue(p()+".role", "The deprecated 'function' role is not supported; use 'tool' messages with tool_call_id.")
	case "":
		return missing(p()+".role", "Missing required parameter: '"+p()+".role'.")
	default:
		return invalidValue(p()+".role", "Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'.", w.Role)
	}
	m.Name = w.Name
	c := &w.Content
	switch {
	case c.isString:
		m.Content = (*slab)[:1:1]
		*slab = (*slab)[1:]
		m.Content[0] = llm.Part{Type: llm.PartText, Text: c.str}
	case c.parts != nil:
		if len(c.parts) == 0 && m.Role != llm.RoleAssistant {
			// As OpenAI answers. Translated, an empty turn would reach an
			// upstream that refuses it in its own words (Anthropic) or
			// reads another conversation.
			e := llm.Errorf(p()+".content", "Invalid '%s.content': empty array. Expected an array with minimum length 1, but got an empty array instead.", p())
			e.Code = "empty_array"
			return e
		}
		m.Content = make([]llm.Part, 0, len(c.parts))
		for j := range c.parts {
			part, err := decodePart(req, &c.parts[j], func() string { return p() + ".content[" + strconv.Itoa(j) + "]" }, m.Role)
			if err != nil {
				return err
			}
			if part.Type != "" {
				m.Content = append(m.Content, part)
			}
		}
	default:
		// null or absent content is allowed only for an assistant turn
		// that calls tools (or whose refusal is all it said).
		if m.Role != llm.RoleAssistant || (len(w.ToolCalls) == 0 && w.Refusal == nil) {
			return missing(p()+".content", "Missing required parameter: '"+p()+".content'.")
		}
	}
	if r := w.reasoningText(); r != "" && m.Role == llm.RoleAssistant {
		// DeepSeek-style clients send the reasoning of earlier turns back.
		m.Thoughts = []llm.Thought{{Text: r}}
	}
	if m.Role == llm.RoleAssistant && len(m.Content) == 0 && w.Refusal != nil && *w.Refusal != "" {
		m.Content = []llm.Part{{Type: llm.PartText, Text: *w.Refusal}}
	}
	if len(w.ToolCalls) > 0 {
		if m.Role != llm.RoleAssistant {
			return invalidValue(p()+".tool_calls", "Invalid parameter: 'tool_calls' is only allowed on messages with role 'assistant'.")
		}
		m.ToolCalls = make([]llm.ToolCall, 0, len(w.ToolCalls))
		for j, tc := range w.ToolCalls {
			tp := func() string { return p() + ".tool_calls[" + strconv.Itoa(j) + "].type" }
			switch tc.Type {
			case "", "function":
			case "custom":
				// A call of a custom tool, replayed: as the tool.
				upstreamOnly(req, tp())
				continue
			default:
				return invalidValue(tp(), "Invalid value: '%s'. Supported values are: 'function' and 'custom'.", tc.Type)
			}
			m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
	}
	return nil
}

// decodePart reads one content part; a part only OpenAI itself can take
// comes back with an empty Type (see upstreamOnly).
func decodePart(req *llm.ChatRequest, w *contentPart, p func() string, role llm.Role) (llm.Part, *llm.Error) {
	switch w.Type {
	case "text":
		return llm.Part{Type: llm.PartText, Text: w.Text, CacheControl: cacheControl(w.CacheControl)}, nil
	case "refusal":
		if role == llm.RoleAssistant {
			return llm.Part{Type: llm.PartText, Text: w.Refusal}, nil
		}
	case "image_url":
		if role != llm.RoleUser {
			return llm.Part{}, invalidValue(p()+".type", "Invalid value: 'image_url'. Image content is only supported in messages with role 'user'.")
		}
		if w.ImageURL == nil || w.ImageURL.URL == "" {
			return llm.Part{}, missing(p()+".image_url.url", "Missing required parameter: '"+p()+".image_url.url'.")
		}
		img, err := decodeImageURL(w.ImageURL)
		if err != nil {
			return llm.Part{}, llm.Errorf(p()+".image_url.url", "Invalid image URL: %s", err.Error())
		}
		return llm.Part{Type: llm.PartImage, Image: img, CacheControl: cacheControl(w.CacheControl)}, nil
	case "":
		return llm.Part{}, missing(p()+".type", "Missing required parameter: '"+p()+".type'.")
	case "input_audio", "file":
		upstreamOnly(req, p()+".type")
		return llm.Part{}, nil
	}
	return llm.Part{}, invalidValue(p()+".type", "Invalid value: '%s'. Supported values are: 'text', 'image_url', 'input_audio', 'file' and 'refusal'.", w.Type)
}

// decodeImageURL splits a data: URL into media type and base64 data;
// other URLs are kept as they are.
func decodeImageURL(w *imageURL) (*llm.Image, error) {
	img := &llm.Image{Detail: w.Detail}
	rest, ok := strings.CutPrefix(w.URL, "data:")
	if !ok {
		img.URL = w.URL
		return img, nil
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, errors.New("data URL has no comma")
	}
	mt, ok := strings.CutSuffix(meta, ";base64")
	if !ok {
		return nil, errors.New("data URL must be base64-encoded")
	}
	if mt == "" {
		return nil, errors.New("data URL has no media type")
	}
	img.MediaType, img.Data = mt, data
	return img, nil
}

func decodeToolChoice(req *llm.ChatRequest, raw json.RawMessage, custom map[string]string) (*llm.ToolChoice, *llm.Error) {
	if raw[0] == '"' {
		var s string
		_ = unquote(raw, &s)
		switch llm.ToolChoiceMode(s) {
		case llm.ToolChoiceAuto, llm.ToolChoiceNone, llm.ToolChoiceRequired:
			return &llm.ToolChoice{Mode: llm.ToolChoiceMode(s)}, nil
		}
		return nil, invalidValue("tool_choice", "Invalid value: '%s'. Supported values are: 'none', 'auto', and 'required'.", s)
	}
	var o toolChoiceObject
	if raw[0] != '{' || json.Unmarshal(raw, &o) != nil {
		return nil, llm.Errorf("tool_choice", "Invalid type for 'tool_choice': expected one of a string or an object.")
	}
	switch o.Type {
	case "function":
	case "allowed_tools":
		return decodeAllowedTools(req, o.AllowedTools, custom)
	case "custom":
		// Passed through to OpenAI, refused by translated targets.
		upstreamOnly(req, "tool_choice.type")
		return nil, nil
	default:
		return nil, invalidValue("tool_choice.type", "Invalid value: '%s'. Supported values are: 'function', 'allowed_tools' and 'custom'.", o.Type)
	}
	if o.Function.Name == "" {
		return nil, missing("tool_choice.function.name", "Missing required parameter: 'tool_choice.function.name'.")
	}
	return &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: o.Function.Name}, nil
}

func decodeResponseFormat(w *responseFormat) (*llm.ResponseFormat, *llm.Error) {
	switch w.Type {
	case "text", "json_object":
		return &llm.ResponseFormat{Type: w.Type}, nil
	case "json_schema":
		if w.JSONSchema == nil {
			return nil, missing("response_format.json_schema", "Missing required parameter: 'response_format.json_schema'.")
		}
		if w.JSONSchema.Name == "" {
			return nil, missing("response_format.json_schema.name", "Missing required parameter: 'response_format.json_schema.name'.")
		}
		return &llm.ResponseFormat{Type: w.Type, Name: w.JSONSchema.Name, Schema: w.JSONSchema.Schema, Strict: w.JSONSchema.Strict}, nil
	case "":
		return nil, missing("response_format.type", "Missing required parameter: 'response_format.type'.")
	}
	return nil, invalidValue("response_format.type", "Invalid value: '%s'. Supported values are: 'text', 'json_object', and 'json_schema'.", w.Type)
}

// upstreamOnly notes a valid OpenAI field or part the canonical request
// cannot carry (audio and file parts, custom tools and their calls).
// Pass-through to an OpenAI-format upstream forwards it
// unchanged, as the API documents it; every translated target refuses the
// request with a 400 unsupported_parameter naming param
// (llm.ChatRequest.Unsupported), so it is never silently dropped.
func upstreamOnly(req *llm.ChatRequest, param string) {
	if !slices.Contains(req.Unsupported, param) {
		req.Unsupported = append(req.Unsupported, param)
	}
}

func missing(param, msg string) *llm.Error {
	e := llm.Errorf(param, "%s", msg)
	e.Code = "missing_required_parameter"
	return e
}

func invalidValue(param, format string, args ...any) *llm.Error {
	e := llm.Errorf(param, format, args...)
	e.Code = "invalid_value"
	return e
}

func setExtra(req *llm.ChatRequest, name string, raw json.RawMessage) {
	if req.Extra == nil {
		req.Extra = map[string]json.RawMessage{}
	}
	req.Extra[name] = raw
}

// cacheControl keeps an Anthropic cache_control object (see
// tool.CacheControl); anything else asks for nothing.
func cacheControl(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	return raw
}
