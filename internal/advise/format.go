package advise

import (
	"fmt"
	"math"
	"strings"
)

func orList(xs []string, none string) string {
	if len(xs) == 0 {
		return none
	}
	return strings.Join(xs, ", ")
}

// money formats dollars with thousands separators and no cents above 100.
func money(v float64) string {
	if math.Abs(v) < 100 {
		return fmt.Sprintf("%.2f", v)
	}
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// tokens formats a token count as "449 M" or "1.2 B".
func tokens(v float64) string {
	switch {
	case v >= 1e12:
		return fmt.Sprintf("%.1f T", v/1e12)
	case v >= 1e9:
		return fmt.Sprintf("%.1f B", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.0f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f K", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// preciseTokens formats a token count to four significant digits
// ("1.665 B", "49.09 M"): a flip point is checked at ±1% of it.
func preciseTokens(v float64) string { return preciseTokensN(v, 4) }

// preciseTokensN formats a token count to prec significant digits.
func preciseTokensN(v float64, prec int) string {
	for _, u := range []struct {
		div  float64
		unit string
	}{{1e12, " T"}, {1e9, " B"}, {1e6, " M"}, {1e3, " K"}} {
		if v >= u.div && (v < 1e16 || u.div < 1e12) {
			return fmt.Sprintf("%.*g%s", prec, v/u.div, u.unit)
		}
	}
	if v >= 1e16 {
		return fmt.Sprintf("%.0f T", v/1e12)
	}
	return fmt.Sprintf("%.*g", prec, v)
}
