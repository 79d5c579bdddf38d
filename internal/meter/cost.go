package meter

import (
	"math"
	"math/bits"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// LongContextThreshold is the prompt size above which the catalogue's
// "above 200k tokens" prices apply to the whole request (Anthropic and
// Gemini price long prompts this way).
const LongContextThreshold = 200_000

// Price is what one token costs, in picodollars. A catalogue price always
// has every field set: CacheRead and CacheWrite default to Input and
// Reasoning to Output when the source has no separate price.
type Price struct {
	Input      Picos `json:"input"`
	Output     Picos `json:"output"`
	CacheRead  Picos `json:"cache_read"`
	CacheWrite Picos `json:"cache_write"`
	Reasoning  Picos `json:"reasoning"`
	// Long is the price when the prompt exceeds LongContextThreshold
	// tokens; nil when the model has no such tier.
	Long *Price `json:"long,omitempty"`
	// MaxOutputTokens is not a price: the model's output limit from the
	// catalogue (0: unknown), the most output a request that sets no
	// max_tokens can be billed for.
	MaxOutputTokens int64 `json:"max_output_tokens,omitempty"`
}

// filled returns p with absent cache and reasoning prices defaulted.
func (p Price) filled(hasCR, hasCW, hasRsn bool) Price {
	if !hasCR {
		p.CacheRead = p.Input
	}
	if !hasCW {
		p.CacheWrite = p.Input
	}
	if !hasRsn {
		p.Reasoning = p.Output
	}
	return p
}

// Cost prices usage u at p, exactly:
//
//	(input − cacheRead − cacheWrite) × Input + cacheRead × CacheRead
//	+ cacheWrite × CacheWrite + (output − reasoning) × Output
//	+ reasoning × Reasoning
//
// in picodollars, rounded half up once to nanodollars. When u.InputTokens
// exceeds LongContextThreshold and p.Long is set, p.Long prices every token.
// Negative or inconsistent counts are clamped (a part never exceeds its
// whole). The sum is carried in 128 bits, so it cannot overflow; a result
// beyond int64 nanodollars saturates.
func Cost(u llm.Usage, p Price) Nanos {
	if u.InputTokens > LongContextThreshold && p.Long != nil {
		p = *p.Long
	}
	in := max(u.InputTokens, 0)
	cr := min(max(u.CacheReadTokens, 0), in)
	cw := min(max(u.CacheWriteTokens, 0), in-cr)
	out := max(u.OutputTokens, 0)
	rsn := min(max(u.ReasoningTokens, 0), out)

	var acc acc128
	acc.add(in-cr-cw, p.Input)
	acc.add(cr, p.CacheRead)
	acc.add(cw, p.CacheWrite)
	acc.add(out-rsn, p.Output)
	acc.add(rsn, p.Reasoning)
	return acc.nanos()
}

// acc128 is a signed 128-bit accumulator (two's complement in hi:lo).
type acc128 struct{ hi, lo uint64 }

func (a *acc128) add(tokens int64, price Picos) {
	if tokens == 0 || price == 0 {
		return
	}
	neg := price < 0 // tokens are never negative here
	pp := uint64(price)
	if neg {
		pp = uint64(-price)
	}
	hi, lo := bits.Mul64(uint64(tokens), pp)
	if neg {
		lo = ^lo + 1
		hi = ^hi
		if lo == 0 {
			hi++
		}
	}
	var c uint64
	a.lo, c = bits.Add64(a.lo, lo, 0)
	a.hi, _ = bits.Add64(a.hi, hi, c)
}

// nanos divides by 1000 rounding half away from zero, saturating at int64.
func (a acc128) nanos() Nanos {
	neg := int64(a.hi) < 0
	hi, lo := a.hi, a.lo
	if neg {
		lo = ^lo + 1
		hi = ^hi
		if lo == 0 {
			hi++
		}
	}
	var c uint64
	lo, c = bits.Add64(lo, 500, 0)
	hi += c
	if hi >= 1000 { // quotient would not fit in 64 bits
		if neg {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, 1000)
	if q > math.MaxInt64 {
		if neg {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	if neg {
		return -Nanos(q)
	}
	return Nanos(q)
}
