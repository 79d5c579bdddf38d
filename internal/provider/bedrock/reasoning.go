package bedrock

import (
	"regexp"
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Reasoning on Bedrock is model-specific: Converse has no reasoning field,
// and each family takes its own in additionalModelRequestFields. Fulcrum
// translates it for Anthropic Claude models, which take Anthropic's own
// thinking object there
// (https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html,
// .../claude-messages-adaptive-thinking.html):
//
//	{"thinking": {"type": "enabled", "budget_tokens": N}}
//	{"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}
//
// and answer with reasoningContent blocks (reasoningText {text,
// signature}, or redactedContent). Other families keep a precise 400 for
// an explicit request; their hints are dropped. Reasoning content in an
// answer is read from every model (DeepSeek-R1 on Bedrock returns it too).

// claudeModel matches a Claude model ID, inference profile or ARN, with
// the family and version when the name has them:
// "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-opus-4-6-v1".
var claudeModel = regexp.MustCompile(`anthropic\.claude-(?:(opus|sonnet|haiku)-(\d+)-(\d+)|(mythos|fable))?`)

// isClaude reports whether a Bedrock model ID names an Anthropic Claude
// model.
func isClaude(model string) bool { return claudeModel.MatchString(model) }

// adaptive reports whether a Claude model takes adaptive thinking and
// output_config.effort: Claude 4.6 and later (Opus 4.6, Sonnet 4.6, Opus
// 4.7), Mythos and Fable. Older models (Sonnet 4.5, Opus 4.5) take only a
// budget.
func adaptive(model string) bool {
	m := claudeModel.FindStringSubmatch(model)
	switch {
	case m == nil:
		return false
	case m[4] != "":
		return true
	case m[2] == "":
		return false
	}
	major, _ := strconv.Atoi(m[2])
	minor, _ := strconv.Atoi(m[3])
	// A date suffix ("claude-sonnet-4-20250514") is not a minor version.
	if len(m[3]) > 2 {
		minor = 0
	}
	return major > 4 || major == 4 && minor >= 6
}

// claudeEffort maps a canonical effort to Claude's output_config.effort
// levels (low, medium, high, max).
func claudeEffort(e string) string {
	switch e {
	case "minimal":
		return "low"
	case "xhigh":
		return "max"
	}
	return e
}

// thinking sets the thinking fields of a Claude request in fields (the
// additionalModelRequestFields object) and makes room for the budget in
// maxTokens. What it sends:
//   - a thinking budget: {"type":"enabled","budget_tokens":N};
//   - an effort (OpenAI reasoning_effort): adaptive thinking with
//     output_config.effort on models that take it, else the effort's
//     budget (llm.BudgetForEffort);
//   - a hint (adaptive thinking, output_config.effort): adaptive thinking
//     with the effort on models that take it, else nothing;
//   - disabled thinking or effort "none": nothing (Claude thinks only
//     when asked).
//
// A non-Claude model refuses an explicit request and drops the rest.
func thinking(req *llm.ChatRequest, fields map[string]any, ic **inferenceConfig) error {
	r := req.Reasoning
	if r == nil || r.Disabled || r.Effort == "none" {
		return nil
	}
	if !isClaude(req.Model) {
		if r.Explicit() {
			return llm.Unsupported(providerType, r.Param)
		}
		return nil
	}
	canAdapt := adaptive(req.Model)
	switch {
	case r.Explicit() && (r.BudgetTokens > 0 || !canAdapt):
		budget := r.Budget()
		if budget == 0 {
			return llm.Unsupported(providerType, r.Param)
		}
		if err := samplingWithThinking(req); err != nil {
			return err
		}
		fields["thinking"] = map[string]any{"type": "enabled", "budget_tokens": budget}
		// Claude wants the budget below max_tokens; raise max_tokens to
		// make room rather than cut the client's answer.
		if *ic == nil {
			*ic = &inferenceConfig{}
		}
		mt := defaultMaxTokens
		if (*ic).MaxTokens != nil {
			mt = *(*ic).MaxTokens
		}
		if mt <= budget {
			mt += budget
		}
		(*ic).MaxTokens = &mt
	case canAdapt:
		if err := samplingWithThinking(req); err != nil {
			if r.Explicit() {
				return err
			}
			// A hint allows answering without thinking.
			return nil
		}
		fields["thinking"] = map[string]any{"type": "adaptive"}
		if r.Effort != "" {
			fields["output_config"] = map[string]any{"effort": claudeEffort(r.Effort)}
		}
	}
	return nil
}

// defaultMaxTokens is the answer's room when thinking is on and the client
// set no limit (the Anthropic adapter's default).
const defaultMaxTokens = 4096

// samplingWithThinking refuses what Claude does not take with thinking: a
// temperature other than 1, and top_k.
func samplingWithThinking(req *llm.ChatRequest) error {
	if req.Temperature != nil && *req.Temperature != 1 {
		e := llm.Unsupported(providerType, "temperature")
		e.Message = `parameter "temperature" cannot be combined with reasoning on provider "bedrock" (Claude's extended thinking needs temperature 1)`
		return e
	}
	if req.TopK != nil {
		e := llm.Unsupported(providerType, "top_k")
		e.Message = `parameter "top_k" cannot be combined with reasoning on provider "bedrock" (Claude's extended thinking does not take it)`
		return e
	}
	return nil
}

// thoughtBlocks re-encodes an assistant's reasoning for a Claude model:
// reasoningText with its signature, redactedContent as it came. Claude
// verifies the signature, and needs the thinking before a tool use sent
// back when thinking is on. Reasoning without a signature came from
// another provider and is not sent (Claude would refuse it).
func thoughtBlocks(ts []llm.Thought) []contentBlock {
	var out []contentBlock
	for _, t := range ts {
		switch {
		case t.Redacted != "":
			out = append(out, contentBlock{ReasoningContent: &reasoningBlock{RedactedContent: t.Redacted}})
		case t.Signature != "":
			out = append(out, contentBlock{ReasoningContent: &reasoningBlock{ReasoningText: &reasoningText{Text: t.Text, Signature: t.Signature}}})
		}
	}
	return out
}
