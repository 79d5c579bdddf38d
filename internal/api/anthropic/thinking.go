package anthropic

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Keys of llm.ChatRequest.Extra that are not Anthropic request fields but
// travel with the request to every target. The openai package reads the
// same keys.
const (
	// ExtraPrefill marks a request whose last message is an assistant
	// text the answer must continue (Anthropic's prefill); its value is
	// that message's path in the client's request ("messages[3]").
	// OpenAI-format targets have no such turn and refuse it.
	ExtraPrefill = "prefill"
	// ExtraServiceTier is the client's service_tier, in its own API's
	// words: Anthropic "auto" / "standard_only", OpenAI "auto" /
	// "default". Each encoder maps it; the other targets have one tier,
	// which is what both values allow.
	ExtraServiceTier = "service_tier"
)

// keep records a top-level field verbatim for Anthropic targets.
func keep(req *llm.ChatRequest, name string, raw json.RawMessage) {
	if req.Extra == nil {
		req.Extra = map[string]json.RawMessage{}
	}
	req.Extra[name] = raw
}

// decodeThinking reads thinking: {"type":"enabled","budget_tokens":N,
// "display":...}, {"type":"adaptive"} or {"type":"disabled"}. Every target
// can take it: OpenAI-style targets get a reasoning effort, Gemini a
// thinking budget (see docs/providers).
func decodeThinking(req *llm.ChatRequest, raw json.RawMessage) error {
	if !present(raw) {
		return nil
	}
	var t struct {
		Type         string `json:"type"`
		BudgetTokens *int   `json:"budget_tokens"`
		Display      string `json:"display"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return llm.Errorf("thinking", "thinking: expected an object")
	}
	r := &llm.Reasoning{Display: t.Display, Param: "thinking"}
	switch t.Type {
	case "enabled":
		if t.BudgetTokens == nil {
			return llm.Errorf("thinking.budget_tokens", "thinking.budget_tokens: field required")
		}
		if *t.BudgetTokens < 1024 {
			return llm.Errorf("thinking.budget_tokens", "thinking.budget_tokens: must be at least 1024")
		}
		if req.MaxTokens != nil && *t.BudgetTokens >= *req.MaxTokens {
			return llm.Errorf("thinking.budget_tokens", "thinking.budget_tokens: must be less than max_tokens")
		}
		r.BudgetTokens = *t.BudgetTokens
	case "adaptive":
		// The model decides whether to think: a hint (see llm.Reasoning).
		r.Adaptive, r.Hint = true, true
	case "disabled":
		r.Disabled = true
	case "":
		return llm.Errorf("thinking.type", "thinking.type: field required")
	default:
		return llm.Errorf("thinking.type", "thinking.type: must be enabled, adaptive or disabled, got %q", t.Type)
	}
	if req.Reasoning != nil { // output_config.effort came first
		r.Effort = req.Reasoning.Effort
	}
	req.Reasoning = r
	keep(req, "thinking", raw)
	return nil
}

// decodeOutputConfig reads output_config: effort becomes the reasoning
// effort, format (a JSON schema) structured output; any other key is kept
// for Anthropic targets and refused elsewhere.
func decodeOutputConfig(req *llm.ChatRequest, raw json.RawMessage) error {
	if !present(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return llm.Errorf("output_config", "output_config: expected an object")
	}
	keep(req, "output_config", raw)
	for k, v := range m {
		if !present(v) {
			// null, as the SDKs type every key ("effort?: ... | null"):
			// not set.
			continue
		}
		switch k {
		case "effort":
			var e string
			if json.Unmarshal(v, &e) != nil {
				return llm.Errorf("output_config.effort", "output_config.effort: expected a string")
			}
			switch e {
			case "low", "medium", "high", "xhigh":
			case "max":
				e = "xhigh"
			default:
				return llm.Errorf("output_config.effort", "output_config.effort: must be low, medium, high, xhigh or max, got %q", e)
			}
			if req.Reasoning == nil {
				// Effort alone is a behavioural signal, not a request to
				// think: a hint.
				req.Reasoning = &llm.Reasoning{Param: "output_config.effort", Hint: true}
			}
			req.Reasoning.Effort = e
		case "format":
			rf, err := decodeFormat(v, "output_config.format")
			if err != nil {
				return err
			}
			req.ResponseFormat = rf
		default:
			req.Unsupported = addName(req.Unsupported, "output_config."+k)
		}
	}
	return nil
}

// decodeFormat reads a structured-output format: {"type":"json_schema",
// "schema":{...}}.
func decodeFormat(raw json.RawMessage, path string) (*llm.ResponseFormat, error) {
	var f struct {
		Type   string          `json:"type"`
		Schema json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(raw, &f); err != nil || f.Type != "json_schema" || !present(f.Schema) {
		return nil, llm.Errorf(path, "%s: expected {\"type\":\"json_schema\",\"schema\":{...}}", path)
	}
	strict := true
	return &llm.ResponseFormat{Type: "json_schema", Name: "output", Schema: f.Schema, Strict: &strict}, nil
}

// decodeContextManagement reads context_management. Edits that clear old
// thinking are honoured by every translated target as they are (no other
// API takes earlier reasoning back, so there is nothing to clear); any
// other edit changes the context and only Anthropic can apply it.
func decodeContextManagement(req *llm.ChatRequest, raw json.RawMessage) error {
	if !present(raw) {
		return nil
	}
	var cm struct {
		Edits []struct {
			Type string `json:"type"`
		} `json:"edits"`
	}
	if err := json.Unmarshal(raw, &cm); err != nil {
		return llm.Errorf("context_management", "context_management: expected an object")
	}
	keep(req, "context_management", raw)
	for i, e := range cm.Edits {
		if !strings.HasPrefix(e.Type, "clear_thinking_") {
			req.Unsupported = addName(req.Unsupported, "context_management.edits["+strconv.Itoa(i)+"]")
		}
	}
	return nil
}

// thinkingText returns a thinking block's text (nil for an absent field).
func thinkingText(b *wireBlock) string {
	if b.Thinking == nil {
		return ""
	}
	return *b.Thinking
}

func signature(b *wireBlock) string {
	if b.Signature == nil {
		return ""
	}
	return *b.Signature
}

// kept reports whether an unsupported field is one an Anthropic target
// re-emits verbatim from req.Extra (its top-level name is kept).
func kept(req *llm.ChatRequest, name string) bool {
	if i := strings.IndexAny(name, ".["); i >= 0 {
		name = name[:i]
	}
	return req.Extra[name] != nil
}

// thoughtBlocks re-encodes an assistant's reasoning: thinking blocks with
// their signatures, redacted_thinking with its data. Reasoning without a
// signature came from another provider; Anthropic would reject it, so it
// is not sent back (no other API takes earlier reasoning either).
func thoughtBlocks(ts []llm.Thought) []wireBlock {
	var out []wireBlock
	for _, t := range ts {
		switch {
		case t.Redacted != "":
			out = append(out, wireBlock{Type: "redacted_thinking", Data: t.Redacted})
		case t.Signature != "":
			text, sig := t.Text, t.Signature
			out = append(out, wireBlock{Type: "thinking", Thinking: &text, Signature: &sig})
		}
	}
	return out
}

// encodeReasoning sets thinking (and the other Anthropic-only fields kept
// from an Anthropic client) on an upstream request.
func encodeReasoning(req *llm.ChatRequest, w *wireRequest) error {
	for name, raw := range req.Extra {
		switch name {
		case "thinking":
			w.Thinking = raw
		case "context_management":
			w.ContextManagement = raw
		case "output_config":
			w.OutputConfig = raw
		case "output_format":
			w.OutputFormat = raw
		case "container":
			w.Container = raw
		case "mcp_servers":
			w.MCPServers = raw
		case "cache_control":
			w.CacheControl = raw
		case "inference_geo":
			w.InferenceGeo = raw
		}
	}
	r := req.Reasoning
	if r == nil || w.Thinking != nil || w.OutputConfig != nil && r.Param == "output_config.effort" {
		// Anthropic's own fields travel as they are; effort alone stays
		// in output_config.
		return nil
	}
	switch {
	case r.Disabled || r.Effort == "none":
		w.Thinking = json.RawMessage(`{"type":"disabled"}`)
	case r.Adaptive:
		w.Thinking = json.RawMessage(`{"type":"adaptive"}`)
	case r.BudgetTokens > 0 || r.Effort != "":
		budget := r.Budget()
		if budget == 0 {
			return llm.Unsupported(providerName, r.Param)
		}
		// The budget must stay below max_tokens; raise max_tokens to make
		// room rather than cut the client's answer.
		if *w.MaxTokens <= budget {
			mt := budget + *w.MaxTokens
			w.MaxTokens = &mt
		}
		w.Thinking = json.RawMessage(`{"type":"enabled","budget_tokens":` + strconv.Itoa(budget) + `}`)
		// Anthropic takes neither a temperature other than 1 nor top_k
		// with thinking.
		if w.Temperature != nil && *w.Temperature != 1 {
			e := llm.Unsupported(providerName, "temperature")
			e.Message = "parameter \"temperature\" cannot be combined with reasoning on provider \"anthropic\" (extended thinking needs temperature 1)"
			return e
		}
		if w.TopK != nil {
			return llm.Unsupported(providerName, "top_k")
		}
	}
	return nil
}
