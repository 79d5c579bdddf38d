package replay

import (
	"sync"

	"github.com/tiktoken-go/tokenizer"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// codec is the cl100k_base tokenizer (GPT-4's), built once: its vocabulary
// takes a few milliseconds to load and the codec is safe for concurrent use.
var codec = sync.OnceValue(func() tokenizer.Codec {
	c, err := tokenizer.Get(tokenizer.Cl100kBase)
	if err != nil {
		panic("replay: cl100k_base: " + err.Error()) // compiled in: cannot fail
	}
	return c
})

// Per-message framing tokens of the chat format, as OpenAI's cookbook
// counts them for the GPT-4 family: 3 per message and 3 to prime the reply.
const (
	tokensPerMessage = 3
	tokensPerReply   = 3
)

// countTokens counts s in cl100k_base. Invalid UTF-8 is tokenised as is,
// so the count never fails.
func countTokens(s string) int64 {
	if s == "" {
		return 0
	}
	n, err := codec().Count(s)
	if err != nil {
		return int64(len(s)+3) / 4 // unreachable with the default error mode
	}
	return int64(n)
}

// inputTokens estimates the prompt tokens of a chat request.
func inputTokens(msgs []llm.Message) int64 {
	n := int64(tokensPerReply)
	for i := range msgs {
		m := &msgs[i]
		n += tokensPerMessage + countTokens(m.Text())
		for _, tc := range m.ToolCalls {
			n += countTokens(tc.Name) + countTokens(tc.Arguments)
		}
		if m.Name != "" {
			n++
		}
	}
	return n
}

// truncateTokens returns the first max tokens of s, and whether it cut.
func truncateTokens(s string, max int) (string, bool) {
	ids, _, err := codec().Encode(s)
	if err != nil || len(ids) <= max {
		return s, false
	}
	out, err := codec().Decode(ids[:max])
	if err != nil {
		return s, false
	}
	return out, true
}
