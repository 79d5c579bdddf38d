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
