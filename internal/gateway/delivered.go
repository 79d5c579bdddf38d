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

// Keys whose string values are text delivered to the client, per wire
// format (content, tool-call arguments, reasoning).
var (
	openaiTextKeys    = [][]byte{[]byte(`"content":"`), []byte(`"arguments":"`), []byte(`"reasoning_content":"`)}
	anthropicTextKeys = [][]byte{[]byte(`"text":"`), []byte(`"partial_json":"`), []byte(`"thinking":"`)}
	responsesTextKeys = [][]byte{[]byte(`"delta":"`)}
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
	case "responses":
		// Text, reasoning and argument deltas all end in ".delta".
		if !strings.HasSuffix(ev.Event, ".delta") {
			return dst
		}
		keys = responsesTextKeys
	default:
		return dst
	}
	for _, k := range keys {
		dst = appendJSONStrings(dst, ev.Data, k)
	}
	return dst
}

// appendJSONStrings appends every string value that follows key in data.
func appendJSONStrings(dst, data, key []byte) []byte {
	for {
		i := bytes.Index(data, key)
		if i < 0 {
			return dst
		}
		data = data[i+len(key):]
		j := 0
		for j < len(data) && data[j] != '"' {
			if data[j] == '\\' {
				j++
			}
			j++
		}
		j = min(j, len(data))
		dst = append(dst, data[:j]...)
		data = data[j:]
	}
}
