package bedrock

import (
	"encoding/json"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Prompt caching. Anthropic clients mark what to cache with cache_control
// on a block, a tool or the whole request (automatic caching); Converse
// marks it with a cachePoint block after the content to cache, in
// messages, system and tools
// (https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html).
// Without the translation a Claude conversation on Bedrock is never cached
// and every turn pays its whole prompt. Only Claude and Nova models take
// cache points; for the others the markers mean nothing to the answer and
// are not sent.

// cachePoints returns the converter of cache_control markers for a model:
// nil for an absent marker, and always nil for a model without prompt
// caching.
func cachePoints(model string) func(json.RawMessage) *cachePoint {
	if !isClaude(model) && !strings.Contains(model, "amazon.nova") {
		return func(json.RawMessage) *cachePoint { return nil }
	}
	return func(cc json.RawMessage) *cachePoint {
		if len(cc) == 0 || string(cc) == "null" {
			return nil
		}
		var m struct {
			TTL string `json:"ttl"`
		}
		_ = json.Unmarshal(cc, &m)
		cp := &cachePoint{Type: "default"}
		if m.TTL == "5m" || m.TTL == "1h" {
			cp.TTL = m.TTL
		}
		return cp
	}
}

// partsMarker is the cache_control of the last marked part: the parts of
// a system or assistant message become one text block, so a marker on
// any of them marks that block.
func partsMarker(parts []llm.Part) json.RawMessage {
	var cc json.RawMessage
	for _, p := range parts {
		if len(p.CacheControl) > 0 {
			cc = p.CacheControl
		}
	}
	return cc
}

// automaticCache places a request-level marker (automatic caching) after
// the last block of the last message, as Anthropic does, unless a cache
// point is there already.
func (r *converseRequest) automaticCache(cp *cachePoint) {
	if cp == nil || len(r.Messages) == 0 {
		return
	}
	last := &r.Messages[len(r.Messages)-1]
	if n := len(last.Content); n > 0 && last.Content[n-1].CachePoint != nil {
		return
	}
	last.Content = append(last.Content, contentBlock{CachePoint: cp})
}
