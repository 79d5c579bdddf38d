package openai

import (
	"encoding/json"
	"math"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// readUsage decodes a usage object as json.Unmarshal into usage does,
// without reflection for the shapes upstreams send: every non-streaming
// pass-through answer and every stream's usage chunk is read here, and
// encoding/json was 1-2% of the gateway's CPU for it. ok is false when
// json.Unmarshal would fail. Anything the fast path is not sure of
// (escaped or non-lower-case keys, which encoding/json matches
// case-insensitively, numbers not written as plain integers, a field of
// the wrong type) is left to json.Unmarshal itself, so the two agree on
// every input (FuzzReadUsage).
func readUsage(b []byte) (usage, bool) {
	if !validJSON(b) {
		return usage{}, false
	}
	if u, ok := readUsageFast(b); ok {
		return u, true
	}
	return unmarshalUsage(b)
}

// unmarshalUsage is readUsage's fallback, apart so that its escaping
// value is allocated only when it runs.
func unmarshalUsage(b []byte) (usage, bool) {
	u := new(usage)
	err := json.Unmarshal(b, u)
	return *u, err == nil
}

// readUsageFast reads valid JSON b; ok false means "ask encoding/json".
func readUsageFast(b []byte) (u usage, ok bool) {
	it := newObjIter(b, 0)
	for m, more := it.next(); more; m, more = it.next() {
		if !plainKey(m.key) {
			return usage{}, false
		}
		v := b[m.vs:m.ve]
		switch string(m.key) {
		case "prompt_tokens":
			if !setInt(v, &u.PromptTokens) {
				return usage{}, false
			}
		case "completion_tokens":
			if !setInt(v, &u.CompletionTokens) {
				return usage{}, false
			}
		case "prompt_tokens_details":
			if string(v) == "null" {
				u.PromptTokensDetails = nil
				continue
			}
			if u.PromptTokensDetails == nil {
				u.PromptTokensDetails = &struct {
					CachedTokens int64 `json:"cached_tokens"`
				}{}
			}
			if !readDetail(v, "cached_tokens", &u.PromptTokensDetails.CachedTokens) {
				return usage{}, false
			}
		case "completion_tokens_details":
			if string(v) == "null" {
				u.CompletionTokensDetails = nil
				continue
			}
			if u.CompletionTokensDetails == nil {
				u.CompletionTokensDetails = &struct {
					ReasoningTokens int64 `json:"reasoning_tokens"`
				}{}
			}
			if !readDetail(v, "reasoning_tokens", &u.CompletionTokensDetails.ReasoningTokens) {
				return usage{}, false
			}
		}
	}
	return u, it.err == nil
}

// readDetail reads the one field kept of a details object (valid JSON),
// merging into *dst as encoding/json does with a struct already there.
func readDetail(b []byte, name string, dst *int64) bool {
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	it := newObjIter(b, 0)
	for m, more := it.next(); more; m, more = it.next() {
		if !plainKey(m.key) {
			return false
		}
		if string(m.key) == name && !setInt(b[m.vs:m.ve], dst) {
			return false
		}
	}
	return it.err == nil
}

// plainKey reports whether a raw key is lower-case ASCII letters, digits
// and underscores only: such a key matches a field name exactly or not
// at all, where encoding/json's case-insensitive match would also take
// "Prompt_Tokens" or a Unicode look-alike.
func plainKey(k []byte) bool {
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// setInt stores a JSON integer literal (valid JSON) in *dst; null leaves
// it as it is, as encoding/json does. Anything else is not handled here.
func setInt(v []byte, dst *int64) bool {
	if string(v) == "null" {
		return true
	}
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 19 {
		return false // strconv's range check is left to encoding/json
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > math.MaxInt64 {
		return false
	}
	if neg {
		*dst = -int64(n)
	} else {
		*dst = int64(n)
	}
	return true
}

// usageOf is readUsage made canonical: nil when b is not a usage object.
func usageOf(b []byte) *llm.Usage {
	u, ok := readUsage(b)
	if !ok {
		return nil
	}
	return u.canonical()
}
