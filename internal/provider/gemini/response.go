package gemini

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// fromResponse translates a complete GenerateContentResponse. newID makes
// tool call IDs for calls Gemini sent without one. A function call's
// thought signature becomes the tool call's Signature, which the gateway
// keeps for the caller's key and never shows the client.
func fromResponse(r *generateResponse, model string, created int64, newID func() string) *llm.ChatResponse {
	out := &llm.ChatResponse{ID: r.ResponseID, Model: model, Created: created}
	if r.ModelVersion != "" {
		out.Model = r.ModelVersion
	}
	if out.ID == "" {
		out.ID = newID()
	}
	out.Choices = make([]llm.Choice, 0, max(len(r.Candidates), 1))
	for i := range r.Candidates {
		c := &r.Candidates[i]
		msg := llm.Message{Role: llm.RoleAssistant}
		var text strings.Builder
		for _, p := range c.Content.Parts {
			switch {
			case p.FunctionCall != nil:
				tc := toolCall(p.FunctionCall, newID)
				tc.Signature = p.ThoughtSignature
				msg.ToolCalls = append(msg.ToolCalls, tc)
			case p.Thought:
				if p.Text != "" {
					msg.Thoughts = append(msg.Thoughts, llm.Thought{Text: p.Text})
				}
			default:
				text.WriteString(p.Text)
			}
		}
		if text.Len() > 0 || len(msg.ToolCalls) == 0 {
			msg.Content = []llm.Part{{Type: llm.PartText, Text: text.String()}}
		}
		finish := finishReason(c.FinishReason)
		if len(msg.ToolCalls) > 0 && finish == llm.FinishStop {
			finish = llm.FinishToolCalls
		}
		out.Choices = append(out.Choices, llm.Choice{Index: c.Index, Message: msg, FinishReason: finish})
	}
	if len(r.Candidates) == 0 {
		// The prompt itself was blocked (promptFeedback.blockReason):
		// answer with an empty, filtered choice as OpenAI does.
		finish := llm.FinishStop
		if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
			finish = llm.FinishContentFilter
		}
		out.Choices = append(out.Choices, llm.Choice{
			Message:      llm.TextMessage(llm.RoleAssistant, ""),
			FinishReason: finish,
		})
	}
	out.Usage = usage(r.UsageMetadata)
	return out
}

// toolCall converts one function call; args are already a JSON object.
func toolCall(fc *functionCall, newID func() string) llm.ToolCall {
	id := fc.ID
	if id == "" {
		id = newID()
	}
	args := "{}"
	if len(fc.Args) > 0 && string(fc.Args) != "null" {
		// Gemini pretty-prints; clients expect OpenAI's compact string.
		var b bytes.Buffer
		if err := json.Compact(&b, fc.Args); err == nil {
			args = b.String()
		} else {
			args = string(fc.Args)
		}
	}
	return llm.ToolCall{ID: id, Name: fc.Name, Arguments: args}
}

// finishReason maps Gemini's FinishReason to OpenAI's vocabulary
// (https://ai.google.dev/api/generate-content#FinishReason).
func finishReason(r string) string {
	switch r {
	case "MAX_TOKENS":
		return llm.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY":
		return llm.FinishContentFilter
	case "":
		return ""
	default: // STOP, OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, ...
		return llm.FinishStop
	}
}

// usage maps usageMetadata; thinking tokens are billed as output.
func usage(u *usageMetadata) *llm.Usage {
	if u == nil {
		return nil
	}
	return &llm.Usage{
		InputTokens:     u.PromptTokenCount,
		OutputTokens:    u.CandidatesTokenCount + u.ThoughtsTokenCount,
		CacheReadTokens: u.CachedContentTokenCount,
		ReasoningTokens: u.ThoughtsTokenCount,
	}
}

// statusError builds the *llm.Error for a non-2xx answer from Google's
// error envelope. Gemini puts the wait of a 429 in a google.rpc.RetryInfo
// detail rather than a Retry-After header; it becomes RetryAfter. An
// invalid key is a 400 with reason API_KEY_INVALID: it is the gateway's
// key that failed, so the client gets a 502, not a 400.
func statusError(name string, resp *http.Response, body []byte) *llm.Error {
	var eb errorBody
	msg := ""
	if json.Unmarshal(body, &eb) == nil {
		msg = eb.Error.Message
	}
	e := provider.StatusError(name, resp, msg)
	for _, raw := range eb.Error.Details {
		var d errorDetail
		if json.Unmarshal(raw, &d) != nil {
			continue
		}
		switch {
		case strings.HasSuffix(d.Type, "google.rpc.RetryInfo") && e.RetryAfter == 0:
			if v, err := time.ParseDuration(d.RetryDelay); err == nil && v > 0 {
				e.RetryAfter = v
			}
		case strings.HasSuffix(d.Type, "google.rpc.ErrorInfo") && d.Reason == "API_KEY_INVALID":
			e.Status = http.StatusBadGateway
			e.Type = llm.ErrUpstream
			e.Code = "upstream_auth_failed"
		}
	}
	return e
}

// malformed is the error for a 2xx body that is not what the API promises.
func malformed(name string, err error) *llm.Error {
	return &llm.Error{
		Status:   http.StatusBadGateway,
		Type:     llm.ErrUpstream,
		Code:     "upstream_malformed_response",
		Message:  "upstream " + name + " returned a malformed response",
		Provider: name,
		Err:      err,
	}
}
