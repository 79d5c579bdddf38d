package gateway

import (
	"net/http"
	"strconv"
)

// costHeader tells the client what its request cost, in US dollars: every
// upstream attempt it took (failed ones that were billed, a cascade's
// tiers and judge included), priced as the usage records price them (the
// catalogue for APIs, the GPU-hour model for self-hosted targets; 0 for a
// cache hit). A non-streaming answer carries it as a header; a stream, whose
// headers leave before its usage is known, as an HTTP trailer declared in
// its headers (clients that read trailers get it; the usage event at the
// end of the stream carries the tokens, not the price).
const costHeader = "X-Fulcrum-Cost-Usd"

// formatUSD writes nanodollars as an exact decimal number of dollars
// ("0.000105", "12.5", "0").
func formatUSD(nanos int64) string {
	neg := nanos < 0
	if neg {
		nanos = -nanos
	}
	whole, frac := nanos/1e9, nanos%1e9
	b := make([]byte, 0, 24)
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendInt(b, whole, 10)
	if frac != 0 {
		// 1e9+frac has ten digits: a nine-byte buffer grew on the heap.
		f := strconv.AppendInt(make([]byte, 0, 10), frac+1e9, 10)[1:] // 9 digits, zero-padded
		for len(f) > 0 && f[len(f)-1] == '0' {
			f = f[:len(f)-1]
		}
		b = append(append(b, '.'), f...)
	}
	return string(b)
}

// setCost sets the request's cost so far on h.
func (c *chatCall) setCost(h http.Header) {
	c.rc.setHeader(h, costHeader, formatUSD(c.spent.ProprietaryNanos+c.spent.SelfHostedNanos))
}
