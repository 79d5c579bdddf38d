package gateway

import (
	"bytes"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// A stream that ends early (cut by the upstream, an error event, the client
// leaving) usually never reaches the chunk that reports usage, but the
// upstream read the prompt and the client received text: recording 0
// tokens and cost 0 would let such streams go unbilled. The gateway keeps
// the text it delivered and, when the stream ends without usage, estimates
// it (llm.Usage.Estimated). When usage was reported before the end but
// counts less output than was delivered (Anthropic's message_start carries
// the input and one output token), the output is estimated.

// cutUsage is the usage to record for a stream that ended early, given
// what the upstream reported (nil: nothing) and the text delivered.
func (c *chatCall) cutUsage(u *llm.Usage, delivered string) *llm.Usage {
	est := c.s.estimate(c.req, delivered)
	if u == nil {
		return est
	}
	if u.OutputTokens >= est.OutputTokens {
		return u
	}
	v := *u
	v.OutputTokens, v.Estimated = est.OutputTokens, true
	return &v
}

// Names of the keys whose string values are text delivered to the client,
// per wire format (content, tool-call arguments, reasoning).
var (
	openaiTextKeys      = [][]byte{[]byte("content"), []byte("arguments"), []byte("reasoning_content")}
	anthropicTextKeys   = [][]byte{[]byte("text"), []byte("partial_json"), []byte("thinking")}
	responsesTextKeys   = [][]byte{[]byte("delta")}
	completionsTextKeys = [][]byte{[]byte("text")}
)

// appendDelivered appends the text a passed-through event carried (JSON
// escapes left as they are: this is for counting, not for showing).
func appendDelivered(dst []byte, format string, ev *sse.Event) []byte {
	var keys [][]byte
	switch format {
	case "openai":
		keys = openaiTextKeys
	case "anthropic":
		if ev.Event != "content_block_delta" {
			return dst
		}
		keys = anthropicTextKeys
	case "completions":
		keys = completionsTextKeys
	case "responses":
		// Text, reasoning and argument deltas all end in ".delta".
		if !strings.HasSuffix(ev.Event, ".delta") {
			return dst
		}
		keys = responsesTextKeys
	default:
		return dst
	}
	return appendJSONStrings(dst, ev.Data, keys)
}

var keyColonString = []byte(`":"`)

// appendJSONStrings appends, in one pass over data, every string value
// whose key is one of keys. In compact JSON (as providers stream it) the
// bytes `":"` occur only between a key and a string value (a raw quote
// cannot occur inside a string), so each occurrence is checked against
// keys and, on a match, the value is copied up to its closing quote.
func appendJSONStrings(dst, data []byte, keys [][]byte) []byte {
	for {
		i := bytes.Index(data, keyColonString)
		if i < 0 {
			return dst
		}
		name, rest := data[:i], data[i+len(keyColonString):]
		match := false
		for _, k := range keys {
			if len(name) > len(k) && name[len(name)-len(k)-1] == '"' && string(name[len(name)-len(k):]) == string(k) {
				match = true
				break
			}
		}
		j := 0
		for j < len(rest) && rest[j] != '"' {
			if rest[j] == '\\' {
				j++
			}
			j++
		}
		j = min(j, len(rest))
		if match {
			dst = append(dst, rest[:j]...)
		}
		data = rest[j:]
	}
}
