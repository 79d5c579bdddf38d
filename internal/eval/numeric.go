package eval

import (
	"regexp"
	"strconv"
	"strings"
)

// numberRE matches a number as people write it: an optional minus and
// dollar sign, digits with thousands separators, an optional fraction.
const numberRE = `-?\$?\d[\d,]*(?:\.\d+)?`

var (
	reNumber   = regexp.MustCompile(numberRE)
	reAnswerIs = regexp.MustCompile(`(?i)answer is[:\s]*(` + numberRE + `)`)
	reBoxed    = regexp.MustCompile(`\\boxed\{\s*(` + numberRE + `)`)
)

// ExtractNumber returns the final numeric answer of a free-text solution,
// as written but without "$" and thousands separators ("$1,234.50" gives
// "1234.50"). It looks, in order, for the first number after the last
// "####" (GSM8K's answer marker), the last \boxed{N}, the last "answer is
// N", and else the last number anywhere in the text.
func ExtractNumber(text string) (string, bool) {
	if i := strings.LastIndex(text, "####"); i >= 0 {
		if m := reNumber.FindString(text[i:]); m != "" {
			return cleanNumber(m), true
		}
	}
	for _, re := range []*regexp.Regexp{reBoxed, reAnswerIs} {
		if ms := re.FindAllStringSubmatch(text, -1); len(ms) > 0 {
			return cleanNumber(ms[len(ms)-1][1]), true
		}
	}
	all := reNumber.FindAllString(text, -1)
	if len(all) == 0 {
		return "", false
	}
	return cleanNumber(all[len(all)-1]), true
}

func cleanNumber(s string) string {
	if !strings.ContainsAny(s, "$, ") {
		return s
	}
	return strings.NewReplacer("$", "", ",", "", " ", "").Replace(s)
}

// numberMatches compares an extracted number with the expected one. With
// exact, the numbers must be written alike ("33.00" is not "33", as
// lm-evaluation-harness's exact_match and the graders of the recorded GSM8K
// labels count it); otherwise they must differ by at most tol.
func numberMatches(got, want string, exact bool, tol float64) bool {
	want = cleanNumber(strings.TrimSpace(want))
	if exact {
		return got == want
	}
	g, err1 := strconv.ParseFloat(got, 64)
	w, err2 := strconv.ParseFloat(want, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	d := g - w
	if d < 0 {
		d = -d
	}
	return d <= tol
}
