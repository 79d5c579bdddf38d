package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// DecodeMessagesRequest decodes the body of a client's POST /v1/messages
// into the canonical request. Every failure is a 400 *llm.Error whose Param
// names the field at fault. Unknown fields are ignored, as Anthropic does;
// fields and blocks that are understood but have no canonical form
// (thinking, document blocks, server tools, ...) are listed in
// ChatRequest.Unsupported so a target that cannot honour them refuses the
// request instead of dropping them.
func DecodeMessagesRequest(body []byte) (*llm.ChatRequest, error) {
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, jsonError(err)
	}
	if w.Model == "" {
		return nil, llm.Errorf("model", "model: field required")
	}
	if w.MaxTokens == nil {
		return nil, llm.Errorf("max_tokens", "max_tokens: field required")
	}
	if *w.MaxTokens < 0 {
		return nil, llm.Errorf("max_tokens", "max_tokens: must be at least 0")
	}
	if len(w.Messages) == 0 {
		return nil, llm.Errorf("messages", "messages: at least one message is required")
	}
	req := &llm.ChatRequest{
		Model:        w.Model,
		MaxTokens:    w.MaxTokens,
		Temperature:  w.Temperature,
		TopP:         w.TopP,
		TopK:         w.TopK,
		Stop:         w.StopSequences,
		Stream:       w.Stream,
		IncludeUsage: w.Stream, // Anthropic clients always get usage.
		Messages:     make([]llm.Message, 0, len(w.Messages)+1),
	}
	if w.Metadata != nil {
		req.User = w.Metadata.UserID
	}
	if err := decodeSystem(req, w.System); err != nil {
		return nil, err
	}
	for i := range w.Messages {
		if err := decodeMessage(req, i, i == len(w.Messages)-1, &w.Messages[i]); err != nil {
			return nil, err
		}
	}
	if n := len(req.Messages); w.Messages[len(w.Messages)-1].Role == "assistant" && n > 0 &&
		req.Messages[n-1].Role == llm.RoleAssistant && req.Messages[n-1].Text() != "" {
		// The answer continues this text (a prefill); see ExtraPrefill.
		keep(req, ExtraPrefill, json.RawMessage(`"messages[`+strconv.Itoa(len(w.Messages)-1)+`]"`))
	}
	if *w.MaxTokens == 0 {
		// Anthropic answers max_tokens 0 by only writing the prompt
		// cache (pre-warming); no other API can, see checkSupported.
		req.Unsupported = addName(req.Unsupported, "max_tokens")
	}
	if present(w.CacheControl) {
		// Automatic caching: kept for Anthropic targets; the others cache
		// on their own, and the answer is the same.
		keep(req, "cache_control", w.CacheControl)
	}
	if present(w.InferenceGeo) {
		// Where the model may run: kept for Anthropic targets. Any other
		// target refuses a restriction it cannot promise ("global" is
		// none).
		keep(req, "inference_geo", w.InferenceGeo)
		if string(w.InferenceGeo) != `"global"` {
			req.Unsupported = addName(req.Unsupported, "inference_geo")
		}
	}
	if present(w.ServiceTier) {
		var tier string
		if json.Unmarshal(w.ServiceTier, &tier) != nil || (tier != "auto" && tier != "standard_only") {
			return nil, llm.Errorf("service_tier", "service_tier: must be \"auto\" or \"standard_only\"")
		}
		keep(req, ExtraServiceTier, w.ServiceTier)
	}
	if err := decodeTools(req, &w); err != nil {
		return nil, err
	}
	if err := decodeOutputConfig(req, w.OutputConfig); err != nil {
		return nil, err
	}
	if err := decodeThinking(req, w.Thinking); err != nil {
		return nil, err
	}
	if err := decodeContextManagement(req, w.ContextManagement); err != nil {
		return nil, err
	}
	if present(w.OutputFormat) {
		rf, err := decodeFormat(w.OutputFormat, "output_format")
		if err != nil {
			return nil, err
		}
		req.ResponseFormat = rf
		keep(req, "output_format", w.OutputFormat)
	}
	for _, f := range [...]struct {
		name string
		raw  json.RawMessage
	}{{"mcp_servers", w.MCPServers}, {"container", w.Container}} {
		if present(f.raw) {
			// Anthropic-only: kept for Anthropic targets, refused elsewhere.
			keep(req, f.name, f.raw)
			req.Unsupported = addName(req.Unsupported, f.name)
		}
	}
	return req, nil
}

// jsonError turns an encoding/json failure into a 400 naming the field.
func jsonError(err error) *llm.Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &llm.Error{Status: 400, Type: llm.ErrInvalidRequest, Param: te.Field,
			Message: fmt.Sprintf("%s: expected %s, got %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value), Err: err}
	}
	return &llm.Error{Status: 400, Type: llm.ErrInvalidRequest, Message: "request body is not valid JSON", Err: err}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64":
		return "integer"
	case "float64":
		return "number"
	case "slice":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	case "bool":
		return "boolean"
	}
	return goKind
}

// present reports whether a raw field was sent with a non-null value.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

func addName(names []string, name string) []string {
	if slices.Contains(names, name) {
		return names
	}
	return append(names, name)
}

// unquote decodes a JSON string as json.Unmarshal does, without it when
// the string has no escapes and is valid UTF-8 (most message contents).
// b is a value json.Unmarshal kept whole (a json.RawMessage of a body it
// accepted), so a string without escapes holds no control characters.
func unquote(b []byte, s *string) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		*s = string(b[1 : len(b)-1])
		return nil
	}
	return json.Unmarshal(b, s)
}

// isString reports whether raw JSON is a string (after leading space).
func isString(raw json.RawMessage) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '"'
}

func decodeSystem(req *llm.ChatRequest, raw json.RawMessage) error {
	if !present(raw) {
		return nil
	}
	if isString(raw) {
		var s string
		if err := unquote(raw, &s); err != nil {
			return llm.Errorf("system", "system: expected string or array of text blocks")
		}
		if s != "" {
			req.Messages = append(req.Messages, llm.TextMessage(llm.RoleSystem, s))
		}
		return nil
	}
	var blocks []wireBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return llm.Errorf("system", "system: expected string or array of text blocks")
	}
	m := llm.Message{Role: llm.RoleSystem}
	for j, b := range blocks {
		if b.Type != "text" {
			return llm.Errorf("system["+strconv.Itoa(j)+"].type", "system[%d].type: only text blocks are allowed, got %q", j, b.Type)
		}
		m.Content = append(m.Content, llm.Part{Type: llm.PartText, Text: b.Text, CacheControl: b.CacheControl})
	}
	if len(m.Content) > 0 {
		req.Messages = append(req.Messages, m)
	}
	return nil
}

func decodeMessage(req *llm.ChatRequest, i int, last bool, wm *wireMessage) error {
	// Paths are spelt out only for an error (or a block that needs one).
	path := func() string { return "messages[" + strconv.Itoa(i) + "]" }
	var role llm.Role
	switch wm.Role {
	case "user":
		role = llm.RoleUser
	case "assistant":
		role = llm.RoleAssistant
	case "system":
		// Current Claude Code sends system turns inside messages; every
		// target takes them as system messages.
		role = llm.RoleSystem
	case "":
		return llm.Errorf(path()+".role", "%s.role: field required", path())
	default:
		return llm.Errorf(path()+".role", "%s.role: must be \"user\", \"assistant\" or \"system\", got %q", path(), wm.Role)
	}
	if !present(wm.Content) {
		return llm.Errorf(path()+".content", "%s.content: field required", path())
	}
	if isString(wm.Content) {
		var s string
		if err := unquote(wm.Content, &s); err != nil {
			return llm.Errorf(path()+".content", "%s.content: invalid string", path())
		}
		req.Messages = append(req.Messages, llm.TextMessage(role, s))
		return nil
	}
	var blocks []wireBlock
	if err := json.Unmarshal(wm.Content, &blocks); err != nil {
		return llm.Errorf(path()+".content", "%s.content: expected string or array of content blocks", path())
	}
	if len(blocks) == 0 && (role != llm.RoleAssistant || !last) {
		// As Anthropic answers; translated, the turn would vanish and the
		// upstream would see another conversation.
		return llm.Errorf(path()+".content", "%s: all messages must have non-empty content except for the optional final assistant message", path())
	}
	// cur collects text and images; tool results split it, keeping order.
	cur := llm.Message{Role: role}
	flush := func() {
		if len(cur.Content) > 0 || len(cur.ToolCalls) > 0 || len(cur.Thoughts) > 0 {
			req.Messages = append(req.Messages, cur)
		}
		cur = llm.Message{Role: role}
	}
	for j := range blocks {
		b := &blocks[j]
		bpath := func() string { return path() + ".content[" + strconv.Itoa(j) + "]" }
		switch b.Type {
		case "text":
			cur.Content = append(cur.Content, llm.Part{Type: llm.PartText, Text: b.Text, CacheControl: b.CacheControl})
		case "image":
			if role == llm.RoleSystem {
				return llm.Errorf(bpath()+".type", "%s: system messages may hold only text", bpath())
			}
			img, err := decodeImage(req, b.Source, bpath()+".source")
			if err != nil {
				return err
			}
			if img != nil {
				cur.Content = append(cur.Content, llm.Part{Type: llm.PartImage, Image: img, CacheControl: b.CacheControl})
			}
		case "thinking", "redacted_thinking":
			if role != llm.RoleAssistant {
				return llm.Errorf(bpath()+".type", "%s: %s blocks are only allowed in assistant messages", bpath(), b.Type)
			}
			if b.Type == "thinking" {
				cur.Thoughts = append(cur.Thoughts, llm.Thought{Text: thinkingText(b), Signature: signature(b)})
			} else {
				if b.Data == "" {
					return llm.Errorf(bpath()+".data", "%s.data: field required", bpath())
				}
				cur.Thoughts = append(cur.Thoughts, llm.Thought{Redacted: b.Data})
			}
		case "tool_use":
			if role != llm.RoleAssistant {
				return llm.Errorf(bpath()+".type", "%s: tool_use blocks are only allowed in assistant messages", bpath())
			}
			if b.ID == "" || b.Name == "" {
				return llm.Errorf(bpath(), "%s: tool_use needs id and name", bpath())
			}
			args := "{}"
			if present(b.Input) {
				args = string(b.Input)
			}
			cur.ToolCalls = append(cur.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		case "tool_result":
			if role != llm.RoleUser {
				return llm.Errorf(bpath()+".type", "%s: tool_result blocks are only allowed in user messages", bpath())
			}
			if b.ToolUseID == "" {
				return llm.Errorf(bpath()+".tool_use_id", "%s.tool_use_id: field required", bpath())
			}
			flush()
			tm := llm.Message{Role: llm.RoleTool, ToolCallID: b.ToolUseID, IsError: b.IsError, CacheControl: b.CacheControl}
			parts, err := decodeToolResultContent(req, b.Content, bpath()+".content")
			if err != nil {
				return err
			}
			tm.Content = parts
			req.Messages = append(req.Messages, tm)
		case "":
			return llm.Errorf(bpath()+".type", "%s.type: field required", bpath())
		default:
			// document, search_result, server-tool blocks, mcp_tool_use,
			// container_upload, and block types newer than Fulcrum: they go
			// through unchanged to Anthropic; a target that cannot take them
			// refuses the request (see ChatRequest.Unsupported).
			req.Unsupported = addName(req.Unsupported, b.Type)
		}
	}
	flush()
	return nil
}

// decodeImage reads an image block's source. A file source (Files API)
// names a file only Anthropic holds: it goes through unchanged to
// Anthropic, and a target that cannot read it refuses the request (nil
// image, the path in ChatRequest.Unsupported).
func decodeImage(req *llm.ChatRequest, s *wireSource, path string) (*llm.Image, error) {
	if s == nil {
		return nil, llm.Errorf(path, "%s: field required", path)
	}
	switch s.Type {
	case "base64":
		if s.MediaType == "" || s.Data == "" {
			return nil, llm.Errorf(path, "%s: base64 source needs media_type and data", path)
		}
		return &llm.Image{MediaType: s.MediaType, Data: s.Data}, nil
	case "url":
		if s.URL == "" {
			return nil, llm.Errorf(path+".url", "%s.url: field required", path)
		}
		return &llm.Image{URL: s.URL}, nil
	case "file":
		if s.FileID == "" {
			return nil, llm.Errorf(path+".file_id", "%s.file_id: field required", path)
		}
		req.Unsupported = addName(req.Unsupported, path+".type")
		return nil, nil
	default:
		return nil, llm.Errorf(path+".type", "%s.type: unsupported image source type %q (want base64, url or file)", path, s.Type)
	}
}

// decodeToolResultContent reads a tool_result's content: a string or an
// array of text and image blocks.
func decodeToolResultContent(req *llm.ChatRequest, raw json.RawMessage, path string) ([]llm.Part, error) {
	if !present(raw) {
		return nil, nil
	}
	if isString(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, llm.Errorf(path, "%s: invalid string", path)
		}
		return []llm.Part{{Type: llm.PartText, Text: s}}, nil
	}
	var blocks []wireBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, llm.Errorf(path, "%s: expected string or array of content blocks", path)
	}
	parts := make([]llm.Part, 0, len(blocks))
	for k := range blocks {
		b := &blocks[k]
		bpath := path + "[" + strconv.Itoa(k) + "]"
		switch b.Type {
		case "text":
			parts = append(parts, llm.Part{Type: llm.PartText, Text: b.Text, CacheControl: b.CacheControl})
		case "image":
			img, err := decodeImage(req, b.Source, bpath+".source")
			if err != nil {
				return nil, err
			}
			if img != nil {
				parts = append(parts, llm.Part{Type: llm.PartImage, Image: img, CacheControl: b.CacheControl})
			}
		case "":
			return nil, llm.Errorf(bpath+".type", "%s.type: field required", bpath)
		default:
			// document, search_result, tool_reference, ...: Anthropic only.
			req.Unsupported = addName(req.Unsupported, b.Type)
		}
	}
	return parts, nil
}

func decodeTools(req *llm.ChatRequest, w *wireRequest) error {
	for i, t := range w.Tools {
		path := "tools[" + strconv.Itoa(i) + "]"
		if t.Type != "" && t.Type != "custom" {
			// Server tools (web search, code execution, ...) run at
			// Anthropic; no other target has them.
			req.Unsupported = addName(req.Unsupported, t.Type)
			continue
		}
		if t.Name == "" {
			return llm.Errorf(path+".name", "%s.name: field required", path)
		}
		if t.DeferLoading {
			// A deferred tool is not in the model's context until tool
			// search loads it; translated targets get the same: not
			// offered. (Anthropic pass-through forwards it unchanged.)
			continue
		}
		if !present(t.InputSchema) {
			return llm.Errorf(path+".input_schema", "%s.input_schema: field required", path)
		}
		desc := t.Description
		if len(t.InputExamples) > 0 {
			// Examples are text the model reads; no other API has a field
			// for them, so they join the description rather than vanish
			// (pass-through to Anthropic keeps the field).
			var b bytes.Buffer
			b.WriteString(desc)
			if desc != "" {
				b.WriteString("\n\n")
			}
			b.WriteString("Example inputs:")
			for j, ex := range t.InputExamples {
				b.WriteByte('\n')
				if err := json.Compact(&b, ex); err != nil {
					return llm.Errorf(path+".input_examples["+strconv.Itoa(j)+"]", "%s.input_examples[%d]: invalid JSON", path, j)
				}
			}
			desc = b.String()
		}
		req.Tools = append(req.Tools, llm.Tool{Name: t.Name, Description: desc, Parameters: t.InputSchema, Strict: t.Strict, CacheControl: t.CacheControl})
	}
	tc := w.ToolChoice
	if tc == nil {
		return nil
	}
	switch tc.Type {
	case "auto":
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
	case "any":
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
	case "none":
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceNone}
	case "tool":
		if tc.Name == "" {
			return llm.Errorf("tool_choice.name", "tool_choice.name: required when type is \"tool\"")
		}
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: tc.Name}
	default:
		return llm.Errorf("tool_choice.type", "tool_choice.type: must be auto, any, tool or none, got %q", tc.Type)
	}
	if tc.DisableParallelToolUse != nil && *tc.DisableParallelToolUse {
		f := false
		req.ParallelToolCalls = &f
	}
	return nil
}
