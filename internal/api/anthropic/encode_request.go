package anthropic

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// providerName is what llm.Unsupported errors name as the target.
const providerName = "anthropic"

// DefaultMaxTokens is sent when the canonical request sets no limit:
// Anthropic requires max_tokens, OpenAI clients often omit it.
const DefaultMaxTokens = 4096

// EncodeMessagesRequest encodes a canonical request as the body of an
// Anthropic POST /v1/messages. req.Model must already be the upstream name.
//
// System messages become the top-level system field (all of them, in
// order: Anthropic has no mid-conversation system turn). Consecutive tool
// results become one user message of tool_result blocks, and a user message
// right after them joins that message, because Anthropic wants tool results
// first in the turn that answers the tool calls. Parameters Anthropic cannot
// honour (n > 1, seed, presence/frequency penalties, structured output,
// anything listed in req.Unsupported) fail with a 400 instead of being
// dropped.
func EncodeMessagesRequest(req *llm.ChatRequest) ([]byte, error) {
	if err := checkSupported(req); err != nil {
		return nil, err
	}
	w := wireRequest{
		Model:         req.Model,
		Temperature:   req.Temperature,
		TopP:          req.TopP,
		TopK:          req.TopK,
		StopSequences: req.Stop,
		Stream:        req.Stream,
		Messages:      make([]wireMessage, 0, len(req.Messages)),
	}
	maxTokens := DefaultMaxTokens
	if req.MaxTokens != nil {
		maxTokens = *req.MaxTokens
	}
	w.MaxTokens = &maxTokens
	if req.User != "" {
		w.Metadata = &wireMetadata{UserID: req.User}
	}
	var system []wireBlock
	// pending is the user turn being built from tool results.
	var pending []wireBlock
	pendingOpen := false
	closePending := func() error {
		if !pendingOpen {
			return nil
		}
		raw, err := json.Marshal(pending)
		if err != nil {
			return err
		}
		w.Messages = append(w.Messages, wireMessage{Role: "user", Content: raw})
		pending, pendingOpen = nil, false
		return nil
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		path := "messages[" + strconv.Itoa(i) + "]"
		m = m.NameFolded() // Anthropic messages have no name
		switch m.Role {
		case llm.RoleSystem:
			for _, p := range m.Content {
				if p.Type != llm.PartText {
					return nil, llm.Errorf(path+".content", "%s.content: system messages may hold only text", path)
				}
				system = append(system, wireBlock{Type: "text", Text: p.Text, CacheControl: p.CacheControl})
			}
		case llm.RoleTool:
			content, err := toolResultContent(m.Content)
			if err != nil {
				return nil, err
			}
			pending = append(pending, wireBlock{Type: "tool_result", ToolUseID: toolID(m.ToolCallID), Content: content, IsError: m.IsError, CacheControl: m.CacheControl})
			pendingOpen = true
		case llm.RoleUser:
			blocks := contentBlocks(m.Content)
			if pendingOpen {
				pending = append(pending, blocks...)
				if err := closePending(); err != nil {
					return nil, err
				}
				continue
			}
			raw, err := userContent(m.Content, blocks)
			if err != nil {
				return nil, err
			}
			w.Messages = append(w.Messages, wireMessage{Role: "user", Content: raw})
		case llm.RoleAssistant:
			if err := closePending(); err != nil {
				return nil, err
			}
			blocks := append(thoughtBlocks(m.Thoughts), contentBlocks(m.Content)...)
			for j, tc := range m.ToolCalls {
				input, err := toolInput(tc.Arguments)
				if err != nil {
					return nil, llm.Errorf(path+".tool_calls["+strconv.Itoa(j)+"].arguments", "%s.tool_calls[%d].arguments: must be a JSON object", path, j)
				}
				blocks = append(blocks, wireBlock{Type: "tool_use", ID: toolID(tc.ID), Name: tc.Name, Input: input})
			}
			if len(blocks) == 0 {
				if i < len(req.Messages)-1 {
					// An assistant turn that said nothing (content "",
					// as some agents record a blank reply): Anthropic
					// refuses empty turns but the last, and the turn
					// carries nothing for the model to read.
					continue
				}
				blocks = []wireBlock{}
			}
			raw, err := json.Marshal(blocks)
			if err != nil {
				return nil, err
			}
			w.Messages = append(w.Messages, wireMessage{Role: "assistant", Content: raw})
		default:
			return nil, llm.Errorf(path+".role", "%s.role: unknown role %q", path, m.Role)
		}
	}
	if err := closePending(); err != nil {
		return nil, err
	}
	if len(system) == 1 && system[0].CacheControl == nil {
		w.System, _ = json.Marshal(system[0].Text)
	} else if len(system) > 0 {
		// Several blocks, or one with a cache_control marker.
		w.System, _ = json.Marshal(system)
	}
	for _, t := range req.Tools {
		schema := t.Parameters
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		wt := wireTool{Name: t.Name, Description: t.Description, InputSchema: schema, CacheControl: t.CacheControl}
		if t.Strict != nil && *t.Strict {
			// Strict tool use: the input must match the schema, as with
			// OpenAI's function.strict. false is Anthropic's default.
			wt.Strict = t.Strict
		}
		w.Tools = append(w.Tools, wt)
	}
	w.ToolChoice = toolChoice(req)
	if err := encodeReasoning(req, &w); err != nil {
		return nil, err
	}
	if err := encodeOutputFormat(req, &w); err != nil {
		return nil, err
	}
	encodeServiceTier(req, &w)
	return json.Marshal(&w)
}

// encodeOutputFormat sends a JSON schema response format from another API
// (OpenAI response_format, Responses text.format) as Anthropic's structured
// output, output_config.format
// (https://docs.claude.com/en/docs/build-with-claude/structured-outputs).
// Anthropic always constrains the answer to the schema: OpenAI's strict:
// false (best effort) gets the stronger guarantee. An Anthropic client's
// own output_config or output_format travels as it came.
func encodeOutputFormat(req *llm.ChatRequest, w *wireRequest) error {
	rf := req.ResponseFormat
	if rf == nil || rf.Type != "json_schema" || w.OutputConfig != nil || w.OutputFormat != nil {
		return nil
	}
	if !json.Valid(rf.Schema) || !bytes.HasPrefix(bytes.TrimLeft(rf.Schema, " \t\r\n"), []byte("{")) {
		return llm.Errorf("response_format.json_schema.schema", "response_format.json_schema.schema: must be a JSON object")
	}
	w.OutputConfig = append(append([]byte(`{"format":{"type":"json_schema","schema":`), rf.Schema...), '}', '}')
	return nil
}

// encodeServiceTier maps service_tier: "standard_only", or OpenAI's
// "default" (standard processing), is sent as "standard_only"; "auto"
// (both APIs' default) is not sent, so that Anthropic-format servers that
// do not know the field (Vertex AI) are not asked about it. OpenAI's
// "flex" and "priority" have no Anthropic tier and never get here: the
// decoder lists them as unsupported.
func encodeServiceTier(req *llm.ChatRequest, w *wireRequest) {
	raw := req.Extra[ExtraServiceTier]
	if raw == nil {
		return
	}
	var tier string
	_ = json.Unmarshal(raw, &tier)
	if tier == "standard_only" || tier == "default" {
		w.ServiceTier = json.RawMessage(`"standard_only"`)
	}
}

// checkSupported refuses what Anthropic cannot do.
func checkSupported(req *llm.ChatRequest) error {
	for _, name := range req.Unsupported {
		if name == "max_tokens" && req.MaxTokens != nil && *req.MaxTokens == 0 {
			continue // Anthropic's cache pre-warming
		}
		if !kept(req, name) && !req.ReasoningParam(name) {
			return llm.Unsupported(providerName, name)
		}
	}
	switch {
	case req.N > 1:
		return llm.Unsupported(providerName, "n")
	case req.Seed != nil:
		return llm.Unsupported(providerName, "seed")
	case req.PresencePenalty != nil:
		return llm.Unsupported(providerName, "presence_penalty")
	case req.FrequencyPenalty != nil:
		return llm.Unsupported(providerName, "frequency_penalty")
	case req.ResponseFormat != nil && req.ResponseFormat.Type == "json_object":
		// Anthropic has no JSON mode without a schema (a json_schema format
		// becomes output_config.format); prompting for JSON would not give
		// the guarantee the client asked for.
		return llm.Unsupported(providerName, "response_format")
	}
	return nil
}

func toolChoice(req *llm.ChatRequest) *wireToolChoice {
	var tc *wireToolChoice
	if c := req.ToolChoice; c != nil && (len(req.Tools) > 0 || c.Mode == llm.ToolChoiceRequired || c.Mode == llm.ToolChoiceTool) {
		// ("auto" and "none" without tools ask for nothing, and Anthropic
		// refuses a tool_choice without tools.)
		switch c.Mode {
		case llm.ToolChoiceAuto:
			tc = &wireToolChoice{Type: "auto"}
		case llm.ToolChoiceRequired:
			tc = &wireToolChoice{Type: "any"}
		case llm.ToolChoiceNone:
			tc = &wireToolChoice{Type: "none"}
		case llm.ToolChoiceTool:
			tc = &wireToolChoice{Type: "tool", Name: c.Name}
		}
	}
	if p := req.ParallelToolCalls; p != nil && !*p && len(req.Tools) > 0 {
		if tc == nil {
			tc = &wireToolChoice{Type: "auto"}
		}
		if tc.Type != "none" {
			t := true
			tc.DisableParallelToolUse = &t
		}
	}
	return tc
}

// contentBlocks converts canonical parts; empty text parts are dropped
// (Anthropic rejects empty text blocks).
func contentBlocks(parts []llm.Part) []wireBlock {
	blocks := make([]wireBlock, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				blocks = append(blocks, wireBlock{Type: "text", Text: p.Text, CacheControl: p.CacheControl})
			}
		case llm.PartImage:
			if p.Image != nil {
				blocks = append(blocks, wireBlock{Type: "image", Source: imageSource(p.Image), CacheControl: p.CacheControl})
			}
		}
	}
	return blocks
}

func imageSource(img *llm.Image) *wireSource {
	if img.Data != "" {
		return &wireSource{Type: "base64", MediaType: img.MediaType, Data: img.Data}
	}
	return &wireSource{Type: "url", URL: img.URL}
}

// userContent is a plain string for a single text part (the common case,
// and what Anthropic's own examples send), blocks otherwise.
func userContent(parts []llm.Part, blocks []wireBlock) (json.RawMessage, error) {
	if len(parts) == 1 && parts[0].Type == llm.PartText && parts[0].CacheControl == nil {
		return json.Marshal(parts[0].Text)
	}
	return json.Marshal(blocks)
}

func toolResultContent(parts []llm.Part) (json.RawMessage, error) {
	// One text is a string; several stay blocks (joined, their words
	// would run together), as do images and cache markers.
	if len(parts) == 0 || len(parts) == 1 && parts[0].Type == llm.PartText && parts[0].CacheControl == nil {
		var m llm.Message
		m.Content = parts
		return json.Marshal(m.Text())
	}
	return json.Marshal(contentBlocks(parts))
}

// toolInput parses OpenAI-style argument strings into the JSON object
// Anthropic's tool_use.input requires. Empty arguments are {}.
func toolInput(args string) (json.RawMessage, error) {
	if args == "" {
		return json.RawMessage(`{}`), nil
	}
	raw := json.RawMessage(args)
	if !json.Valid(raw) {
		return nil, errNotObject
	}
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return raw, nil
	}
	return nil, errNotObject
}

// toolID returns a tool call id Anthropic accepts (^[a-zA-Z0-9_-]+$).
// Ids made elsewhere need not be: Kimi K2 on vLLM names its calls
// "functions.get_weather:0", and a conversation routed to Claude after
// such a turn would be refused. Other characters become '_' followed by a
// hash of the whole id, so that distinct ids stay distinct; the same id
// always maps the same way, so a call and its result still match.
func toolID(id string) string {
	ok := id != ""
	for i := 0; i < len(id) && ok; i++ {
		ok = idByte(id[i])
	}
	if ok {
		return id
	}
	b := []byte(id)
	for i, c := range b {
		if !idByte(c) {
			b[i] = '_'
		}
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return string(b) + "_" + strconv.FormatUint(uint64(h.Sum32()), 36)
}

func idByte(c byte) bool {
	return c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
