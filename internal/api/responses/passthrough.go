package responses

import (
	"bytes"
	"encoding/json"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func (u *usage) canonical() *llm.Usage {
	return &llm.Usage{
		InputTokens:     u.InputTokens,
		OutputTokens:    u.OutputTokens,
		CacheReadTokens: u.InputTokensDetails.CachedTokens,
		ReasoningTokens: u.OutputTokensDetails.ReasoningTokens,
	}
}

// ResponseUsage reads the usage of a Response object an upstream returned
// (nil when it has none: not a Response object).
func ResponseUsage(body []byte) *llm.Usage {
	var w struct {
		Object string `json:"object"`
		Usage  *usage `json:"usage"`
	}
	if json.Unmarshal(body, &w) != nil || w.Object != "response" {
		return nil
	}
	if w.Usage == nil {
		return &llm.Usage{}
	}
	return w.Usage.canonical()
}

// terminal events end a Responses stream; each carries the final Response.
var terminal = map[string]bool{"response.completed": true, "response.incomplete": true, "response.failed": true}

// EventUsage inspects one passed-through stream event (its SSE event name
// and data): whether it ends the stream, and the usage it reports.
func EventUsage(event string, data []byte) (u *llm.Usage, last bool) {
	if event == "" {
		// Servers that omit the event line still type the data.
		var t struct {
			Type string `json:"type"`
		}
		if !bytes.Contains(data, []byte(`"response.`)) || json.Unmarshal(data, &t) != nil {
			return nil, false
		}
		event = t.Type
	}
	if !terminal[event] {
		return nil, false
	}
	var w struct {
		Response struct {
			Usage *usage `json:"usage"`
		} `json:"response"`
	}
	if json.Unmarshal(data, &w) != nil || w.Response.Usage == nil {
		return nil, true
	}
	return w.Response.Usage.canonical(), true
}
