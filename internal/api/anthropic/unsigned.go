package anthropic

import (
	"bytes"
	"encoding/json"
)

// DropUnsignedThinking removes from a client's Messages request body the
// thinking blocks whose signature is empty: reasoning Fulcrum relayed from
// a provider that signs nothing (a self-hosted model answered an earlier
// turn). Anthropic rejects such blocks, and would be right to: it cannot
// verify them. The pass-through path calls it on the bytes the policy
// scan cleared, after the scan; it only removes content, so what is
// forwarded stays within what was scanned. A body with no such block is
// returned as it is (the same slice); so is one that does not parse,
// which the upstream then judges.
func DropUnsignedThinking(body []byte) []byte {
	if !bytes.Contains(body, []byte(`"thinking"`)) {
		return body
	}
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		return body
	}
	var msgs []map[string]json.RawMessage
	if json.Unmarshal(req["messages"], &msgs) != nil {
		return body
	}
	changed := false
	for _, m := range msgs {
		var blocks []json.RawMessage
		if json.Unmarshal(m["content"], &blocks) != nil {
			continue // string content
		}
		kept := blocks[:0:0]
		for _, b := range blocks {
			var h struct {
				Type      string  `json:"type"`
				Signature *string `json:"signature"`
			}
			if json.Unmarshal(b, &h) == nil && h.Type == "thinking" && (h.Signature == nil || *h.Signature == "") {
				changed = true
				continue
			}
			kept = append(kept, b)
		}
		if len(kept) != len(blocks) {
			m["content"], _ = json.Marshal(kept)
		}
	}
	if !changed {
		return body
	}
	req["messages"], _ = json.Marshal(msgs)
	out, err := json.Marshal(req)
	if err != nil {
		return body
	}
	return out
}
