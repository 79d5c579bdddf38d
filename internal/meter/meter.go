// Package meter turns token usage into money and records it durably.
//
// Prices come from an embedded, dated catalogue (prices.json, derived from
// BerriAI/litellm's model_prices_and_context_window.json, MIT) that operators
// can override from config. Cost is a pure function of usage and a price,
// computed in integers: prices are picodollars per token, costs nanodollars.
// Self-hosted providers are priced from GPU rent and measured throughput
// (SelfHosted). The Recorder journals each usage record locally before the
// response completes and commits batches to the store in the background.
package meter

//go:generate go run ./internal/gen -in ../../../shared/data/prices/litellm_model_prices_2026-07-24.json -out prices.json

import (
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Nanos is an amount of US dollars in billionths (USD × 1e9). An int64
// holds ±$9.2 billion.
type Nanos int64

// Picos is an amount of US dollars in trillionths (USD × 1e12), the unit of
// per-token prices: every catalogue price is a whole number of picodollars
// (gemini-2.0-flash-lite reads cached tokens at $0.01875/M = 18,750 picos;
// in nanodollars that would be 18.75).
type Picos int64

// USD returns n in dollars, for display and JSON only: never add these up.
func (n Nanos) USD() float64 { return float64(n) / 1e9 }

// String formats n as dollars with as many decimals as it needs, at least
// two: "$0.06", "$0.000123", "-$1.50".
func (n Nanos) String() string {
	var b []byte
	v := int64(n)
	if v < 0 {
		b = append(b, '-')
		if v == -v { // math.MinInt64
			return "-$9223372036.854775808"
		}
		v = -v
	}
	b = append(b, '$')
	b = strconv.AppendInt(b, v/1e9, 10)
	frac := v % 1e9
	digits := []byte(strconv.FormatInt(frac+1e9, 10)[1:]) // 9 digits, zero-padded
	end := len(digits)
	for end > 2 && digits[end-1] == '0' {
		end--
	}
	b = append(b, '.')
	b = append(b, digits[:end]...)
	return string(b)
}

// PerMillion returns p as dollars per million tokens, for display.
func (p Picos) PerMillion() float64 { return float64(p) / 1e6 }

// PicosFromPerMillion converts a USD-per-million-tokens figure (as written
// in config) to picodollars per token, rounded to the nearest picodollar:
// exact for up to six decimal places.
func PicosFromPerMillion(usdPerMillion float64) Picos {
	v := usdPerMillion * 1e6
	if v < 0 {
		return Picos(v - 0.5)
	}
	return Picos(v + 0.5)
}

// Record is one usage record, one per upstream attempt; it is the store's
// row type, so recording needs no conversion.
type Record = store.UsageRecord
