package anthropic

import (
	"encoding/json"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Helpers for the pass-through path: an Anthropic client talking to an
// Anthropic upstream, the body forwarded as bytes (the model is rewritten
// by jsonscan.SetModel, one rule for every format).

// ResponseUsage reads the usage of a non-streamed Anthropic Message body,
// or returns nil when it has none.
func ResponseUsage(body []byte) *llm.Usage {
	var w struct {
		Usage *wireUsage `json:"usage"`
	}
	if json.Unmarshal(body, &w) != nil || w.Usage == nil {
		return nil
	}
	return canonicalUsage(w.Usage)
}

// UsageTap watches a forwarded Anthropic event stream for its usage:
// message_start (input and cache counts) and message_delta (output tokens,
// and whichever counts it repeats). Content events are skipped without
// being decoded. One UsageTap serves one stream; it is not safe for
// concurrent use.
type UsageTap struct {
	usage wireUsage
	seen  bool
}

// Event looks at one SSE event of the forwarded stream.
func (t *UsageTap) Event(event string, data []byte) {
	switch event {
	case "message_start":
		var ev struct {
			Message struct {
				Usage wireUsage `json:"usage"`
			} `json:"message"`
		}
		if json.Unmarshal(data, &ev) == nil {
			t.usage.merge(&ev.Message.Usage)
			t.seen = true
		}
	case "message_delta":
		var ev struct {
			Usage *wireUsage `json:"usage"`
		}
		if json.Unmarshal(data, &ev) == nil && ev.Usage != nil {
			t.usage.merge(ev.Usage)
			t.seen = true
		}
	}
}

// Usage returns the usage seen so far, nil when none was.
func (t *UsageTap) Usage() *llm.Usage {
	if !t.seen {
		return nil
	}
	return canonicalUsage(&t.usage)
}
