package bedrock

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// toConverse translates a canonical request into a Converse body. What
// Converse cannot carry fails with a 400 naming the parameter. A final
// assistant message (an Anthropic client's prefill) is sent as the last
// turn, which Converse has the model continue; a model that cannot
// answers with its own ValidationException (a 400).
func toConverse(req *llm.ChatRequest) (*converseRequest, error) {
	for _, name := range req.Unsupported {
		// The field that asked for reasoning is translated by thinking.
		if !req.ReasoningParam(name) {
			return nil, llm.Unsupported(providerType, name)
		}
	}
	switch {
	case req.N > 1:
		return nil, llm.Unsupported(providerType, "n")
	case req.Seed != nil:
		return nil, llm.Unsupported(providerType, "seed")
	case req.PresencePenalty != nil:
		return nil, llm.Unsupported(providerType, "presence_penalty")
	case req.FrequencyPenalty != nil:
		return nil, llm.Unsupported(providerType, "frequency_penalty")
	}
	out := &converseRequest{}
	if err := responseFormat(out, req.ResponseFormat); err != nil {
		return nil, err
	}
	if req.MaxTokens != nil || req.Temperature != nil || req.TopP != nil || len(req.Stop) > 0 {
		out.InferenceConfig = &inferenceConfig{MaxTokens: req.MaxTokens, Temperature: req.Temperature, TopP: req.TopP, StopSequences: req.Stop}
	}
	fields := map[string]any{}
	if req.TopK != nil {
		// top_k is not a Converse field; Anthropic models take it as an
		// additional model request field, other families have no equivalent.
		if !strings.Contains(req.Model, "anthropic.") {
			return nil, llm.Unsupported(providerType, "top_k")
		}
		fields["top_k"] = *req.TopK
	}
	if err := thinking(req, fields, &out.InferenceConfig); err != nil {
		return nil, err
	}
	if len(fields) > 0 {
		out.AdditionalModelRequestFields, _ = json.Marshal(fields)
	}
	claude := isClaude(req.Model)
	point := cachePoints(req.Model)
	used := map[string]bool{}
	for i := range req.Messages {
		m := req.Messages[i].NameFolded() // Converse messages have no author name
		switch m.Role {
		case llm.RoleSystem:
			if t := m.Text(); t != "" {
				out.System = append(out.System, systemBlock{Text: t})
				if cp := point(partsMarker(m.Content)); cp != nil {
					out.System = append(out.System, systemBlock{CachePoint: cp})
				}
			}
		case llm.RoleUser:
			blocks, err := userBlocks(m, i, point)
			if err != nil {
				return nil, err
			}
			out.add("user", blocks)
		case llm.RoleAssistant:
			var blocks []contentBlock
			if claude {
				blocks = thoughtBlocks(m.Thoughts)
			}
			if t := m.Text(); t != "" {
				blocks = append(blocks, contentBlock{Text: &t})
				if cp := point(partsMarker(m.Content)); cp != nil {
					blocks = append(blocks, contentBlock{CachePoint: cp})
				}
			}
			for j, tc := range m.ToolCalls {
				in, err := arguments(tc.Arguments, fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j))
				if err != nil {
					return nil, err
				}
				used[tc.Name] = true
				blocks = append(blocks, contentBlock{ToolUse: &toolUse{ToolUseID: toolUseID(tc.ID), Name: tc.Name, Input: in}})
			}
			out.add("assistant", blocks)
		case llm.RoleTool:
			t := m.Text()
			tr := &toolResult{ToolUseID: toolUseID(m.ToolCallID), Content: []toolResultContent{{Text: &t}}}
			if m.IsError {
				tr.Status = "error"
			}
			used["\x00"] = true
			blocks := []contentBlock{{ToolResult: tr}}
			if cp := point(m.CacheControl); cp != nil {
				blocks = append(blocks, contentBlock{CachePoint: cp})
			}
			out.add("user", blocks)
		default:
			return nil, llm.Errorf(fmt.Sprintf("messages[%d].role", i), "unknown role %q", m.Role)
		}
	}
	if len(out.Messages) == 0 {
		return nil, llm.Errorf("messages", "at least one user or assistant message is required")
	}
	out.automaticCache(point(req.Extra["cache_control"]))
	return out, toolsConfig(out, req, used, point)
}

// add appends blocks as a message, merging them into the previous message
// when it has the same role: Converse wants user and assistant turns to
// alternate, and several tool results make one user turn.
func (r *converseRequest) add(role string, blocks []contentBlock) {
	if len(blocks) == 0 {
		return
	}
	if n := len(r.Messages); n > 0 && r.Messages[n-1].Role == role {
		r.Messages[n-1].Content = append(r.Messages[n-1].Content, blocks...)
		return
	}
	r.Messages = append(r.Messages, message{Role: role, Content: blocks})
}

func userBlocks(m *llm.Message, i int, point func(json.RawMessage) *cachePoint) ([]contentBlock, error) {
	var out []contentBlock
	for j, p := range m.Content {
		switch p.Type {
		case llm.PartText:
			if p.Text == "" {
				continue
			}
			t := p.Text
			out = append(out, contentBlock{Text: &t})
			if cp := point(p.CacheControl); cp != nil {
				out = append(out, contentBlock{CachePoint: cp})
			}
		case llm.PartImage:
			if p.Image == nil || p.Image.Data == "" {
				return nil, llm.Errorf(fmt.Sprintf("messages[%d].content[%d].image_url", i, j), "bedrock takes images as base64 data URLs, not links")
			}
			f := strings.TrimPrefix(p.Image.MediaType, "image/")
			if f == "jpg" {
				f = "jpeg"
			}
			if f != "png" && f != "jpeg" && f != "gif" && f != "webp" {
				return nil, llm.Errorf(fmt.Sprintf("messages[%d].content[%d].image_url", i, j), "bedrock takes png, jpeg, gif or webp images, not %q", p.Image.MediaType)
			}
			img := &imageBlock{Format: f}
			img.Source.Bytes = p.Image.Data
			out = append(out, contentBlock{Image: img})
			if cp := point(p.CacheControl); cp != nil {
				out = append(out, contentBlock{CachePoint: cp})
			}
		}
	}
	return out, nil
}

// arguments checks a tool call's argument string is a JSON object.
func arguments(s, param string) (json.RawMessage, error) {
	if strings.TrimSpace(s) == "" {
		return json.RawMessage("{}"), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		return nil, llm.Errorf(param, "tool call arguments must be a JSON object: %v", err)
	}
	return json.RawMessage(s), nil
}

// toolsConfig sets toolConfig. Bedrock refuses toolUse or toolResult
// blocks without a toolConfig, so tools named only in the history are
// declared with an open schema.
func toolsConfig(out *converseRequest, req *llm.ChatRequest, used map[string]bool, point func(json.RawMessage) *cachePoint) error {
	inHistory := len(used) > 0
	tc := req.ToolChoice
	if tc != nil && tc.Mode == llm.ToolChoiceNone {
		if inHistory {
			return llm.Unsupported(providerType, "tool_choice: none with tool calls in the conversation")
		}
		return nil
	}
	cfg := &toolConfig{}
	declared := map[string]bool{}
	for _, t := range req.Tools {
		s := toolSpec{Name: t.Name, Description: t.Description}
		if t.Strict != nil && *t.Strict {
			// Structured outputs for tools: the arguments are
			// constrained to the schema. false is the default and is
			// not sent, so models without the feature are not asked.
			s.Strict = t.Strict
		}
		s.InputSchema.JSON = t.Parameters
		if len(s.InputSchema.JSON) == 0 || string(s.InputSchema.JSON) == "null" {
			s.InputSchema.JSON = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		declared[t.Name] = true
		cfg.Tools = append(cfg.Tools, toolSpecWrap{ToolSpec: &s})
		if cp := point(t.CacheControl); cp != nil {
			cfg.Tools = append(cfg.Tools, toolSpecWrap{CachePoint: cp})
		}
	}
	for name := range used {
		if name == "\x00" || declared[name] {
			continue
		}
		s := toolSpec{Name: name}
		s.InputSchema.JSON = json.RawMessage(`{"type":"object"}`)
		cfg.Tools = append(cfg.Tools, toolSpecWrap{ToolSpec: &s})
	}
	if len(cfg.Tools) == 0 {
		return nil
	}
	if tc != nil {
		switch tc.Mode {
		case llm.ToolChoiceAuto:
			cfg.ToolChoice = &toolChoice{Auto: &struct{}{}}
		case llm.ToolChoiceRequired:
			cfg.ToolChoice = &toolChoice{Any: &struct{}{}}
		case llm.ToolChoiceTool:
			cfg.ToolChoice = &toolChoice{Tool: &struct {
				Name string `json:"name"`
			}{Name: tc.Name}}
		}
	}
	out.ToolConfig = cfg
	return nil
}

// responseFormat maps response_format. A JSON schema is Converse's
// structured output, outputConfig.textFormat, which constrains the answer
// to the schema (so strict: false, best effort, gets the stronger
// guarantee); the schema travels as a JSON string
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_OutputFormat.html).
// A model without structured output answers with its own
// ValidationException. JSON mode without a schema (json_object) has no
// Converse equivalent and is refused.
func responseFormat(out *converseRequest, rf *llm.ResponseFormat) error {
	if rf == nil {
		return nil
	}
	switch rf.Type {
	case "", "text":
		return nil
	case "json_schema":
	default:
		return llm.Unsupported(providerType, "response_format")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(rf.Schema, &obj) != nil {
		return llm.Errorf("response_format.json_schema.schema", "response_format.json_schema.schema: must be a JSON object")
	}
	f := &outputFormat{Type: "json_schema"}
	f.Structure.JSONSchema = jsonSchemaDefinition{Schema: string(rf.Schema), Name: rf.Name}
	out.OutputConfig = &outputConfig{TextFormat: f}
	return nil
}

// fromConverse translates a Converse answer.
func fromConverse(r *converseResponse, id, model string, created int64) *llm.ChatResponse {
	msg := llm.Message{Role: llm.RoleAssistant}
	var text strings.Builder
	if r.Output.Message != nil {
		for _, b := range r.Output.Message.Content {
			switch {
			case b.Text != nil:
				text.WriteString(*b.Text)
			case b.ReasoningContent != nil:
				switch rc := b.ReasoningContent; {
				case rc.ReasoningText != nil:
					msg.Thoughts = append(msg.Thoughts, llm.Thought{Text: rc.ReasoningText.Text, Signature: rc.ReasoningText.Signature})
				case rc.RedactedContent != "":
					msg.Thoughts = append(msg.Thoughts, llm.Thought{Redacted: rc.RedactedContent})
				}
			case b.ToolUse != nil:
				args := string(b.ToolUse.Input)
				if args == "" || args == "null" {
					args = "{}"
				}
				msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name, Arguments: args})
			}
		}
	}
	msg.Content = []llm.Part{{Type: llm.PartText, Text: text.String()}}
	return &llm.ChatResponse{
		ID:      id,
		Model:   model,
		Created: created,
		Choices: []llm.Choice{{Message: msg, FinishReason: finishReason(r.StopReason)}},
		Usage:   usage(r.Usage),
	}
}

// finishReason maps Converse's stopReason to OpenAI's vocabulary.
func finishReason(s string) string {
	switch s {
	case "tool_use":
		return llm.FinishToolCalls
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "guardrail_intervened", "content_filtered":
		return llm.FinishContentFilter
	default: // end_turn, stop_sequence
		return llm.FinishStop
	}
}

// usage converts Converse's counts. Converse's inputTokens excludes the
// tokens read from or written to the prompt cache; the canonical count
// includes them.
func usage(u *usageWire) *llm.Usage {
	if u == nil {
		return nil
	}
	return &llm.Usage{
		InputTokens:      u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens,
		OutputTokens:     u.OutputTokens,
		CacheReadTokens:  u.CacheReadInputTokens,
		CacheWriteTokens: u.CacheWriteInputTokens,
	}
}

// toolUseID returns a toolUseId Converse accepts: 1 to 64 characters of
// [a-zA-Z0-9_-]
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolUseBlock.html).
// Ids made elsewhere need not be: Kimi K2 on vLLM names its calls
// "functions.get_weather:0", and other gateways make ids longer than 64.
// Such an id keeps its first characters (others become '_') and gains a
// hash of the whole id, so distinct ids stay distinct and a call and its
// result, rewritten alike, still match. Bedrock's own ids (tooluse_...)
// are valid and pass unchanged, so no answer needs mapping back.
func toolUseID(id string) string {
	ok := id != "" && len(id) <= 64
	for i := 0; i < len(id) && ok; i++ {
		ok = idByte(id[i])
	}
	if ok {
		return id
	}
	b := []byte(id[:min(len(id), 48)])
	for i, c := range b {
		if !idByte(c) {
			b[i] = '_'
		}
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return string(b) + "_" + strconv.FormatUint(h.Sum64(), 36)
}

func idByte(c byte) bool {
	return c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
