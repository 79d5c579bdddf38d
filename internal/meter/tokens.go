package meter

import (
	"strings"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// Codecs are expensive to build (the vocabulary is decoded on first use), so
// each is built once and shared; tokenizer codecs are safe for concurrent use.
var (
	o200kOnce, cl100kOnce sync.Once
	o200k, cl100k         tokenizer.Codec
)

func codecFor(model string) tokenizer.Codec {
	if usesO200k(model) {
		o200kOnce.Do(func() { o200k, _ = tokenizer.Get(tokenizer.O200kBase) })
		return o200k
	}
	cl100kOnce.Do(func() { cl100k, _ = tokenizer.Get(tokenizer.Cl100kBase) })
	return cl100k
}

// usesO200k reports whether OpenAI tokenises model with o200k_base: the
// gpt-4o, gpt-4.1, gpt-5 and o-series families. Everything else, other
// vendors' models included, is counted with cl100k_base: an estimate is
// what it is, and it is marked so.
func usesO200k(model string) bool {
	m := normalise(model)
	switch {
	case strings.HasPrefix(m, "gpt-4o"), strings.HasPrefix(m, "gpt-4.1"), strings.HasPrefix(m, "gpt-4.5"),
		strings.HasPrefix(m, "gpt-5"), strings.HasPrefix(m, "chatgpt-4o"), strings.HasPrefix(m, "gpt-oss"):
		return true
	case len(m) >= 2 && m[0] == 'o' && m[1] >= '1' && m[1] <= '9': // o1, o3-mini, o4-mini
		return true
	}
	return false
}

// EstimateTokens counts the tokens of texts with a real tokenizer, offline.
// It is used only when a provider reports no usage; the record is then
// marked estimated. It does not add the few tokens of chat framing a
// provider adds per message.
func EstimateTokens(model string, texts ...string) int64 {
	c := codecFor(model)
	var n int64
	for _, t := range texts {
		if t == "" {
			continue
		}
		k, err := c.Count(t)
		if err != nil {
			// Invalid UTF-8 under the default error mode is replaced, not an
			// error; fall back to a byte-based guess rather than nothing.
			k = (len(t) + 3) / 4
		}
		n += int64(k)
	}
	return n
}
