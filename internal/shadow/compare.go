package shadow

import (
	"encoding/json"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/eval"
)

// Comparison is the outcome of checking a candidate's answer against the
// live one.
type Comparison struct {
	// Method is the method used ("numeric", "equals" or "json"; auto
	// resolves to one of them).
	Method string
	Agree  bool
	Detail string
}

// Compare checks cand against live with the eval assertions, the live
// answer standing for the expected value:
//
//   - numeric: eval's numeric assertion (tolerance 1e-6) with the live
//     answer's final number (eval.ExtractNumber) as the value;
//   - equals: eval's equals assertion, ignoring case and surrounding space;
//   - json: eval's json assertion on the candidate when the live answer is
//     JSON, its negation when it is not (both JSON, or both not);
//   - auto (""): json when the live answer is JSON, else numeric when it
//     holds a number, else equals.
func Compare(method, live, cand string) Comparison {
	if method == "" || method == "auto" {
		switch {
		case isJSON(live):
			method = "json"
		case hasNumber(live):
			method = "numeric"
		default:
			method = "equals"
		}
	}
	out := Comparison{Method: method}
	var a eval.Assertion
	switch method {
	case "numeric":
		n, ok := eval.ExtractNumber(live)
		if !ok {
			out.Detail = "no number in the live answer"
			return out
		}
		a = eval.Assertion{Type: "numeric", Value: n}
	case "json":
		a = eval.Assertion{Type: "json", Not: !isJSON(live)}
		if !isJSON(live) {
			out.Agree = !isJSON(cand)
			if !out.Agree {
				out.Detail = "live answer is not JSON, the candidate's is"
			}
			return out
		}
	default:
		out.Method = "equals"
		if strings.Contains(live, "{{") {
			// Not an eval template: compare directly.
			out.Agree = strings.EqualFold(strings.TrimSpace(live), strings.TrimSpace(cand))
			if !out.Agree {
				out.Detail = "answers differ"
			}
			return out
		}
		a = eval.Assertion{Type: "equals", Value: live, IgnoreCase: true}
	}
	if err := a.Compile(); err != nil {
		out.Detail = err.Error()
		return out
	}
	res := a.CheckAnswer(cand, 0, 0, false)
	out.Agree, out.Detail = res.Pass, res.Detail
	return out
}

func hasNumber(s string) bool {
	_, ok := eval.ExtractNumber(s)
	return ok
}

// isJSON reports whether s is a JSON object or array, possibly in a
// Markdown code fence.
func isJSON(s string) bool {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```")
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
	}
	return (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) && json.Valid([]byte(s))
}
