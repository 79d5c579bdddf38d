package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Assertion checks one property of an answer. Value and Rubric may use the
// case's {{variables}}.
type Assertion struct {
	// Type is equals, contains, regex, numeric, json, json_schema,
	// max_latency, max_cost or judge.
	Type string `yaml:"type"`
	// Value is the expected text (equals, contains), the pattern (regex, Go
	// RE2 syntax) or the expected number (numeric).
	Value string `yaml:"value"`
	// IgnoreCase makes equals and contains case-insensitive. Default false.
	IgnoreCase bool `yaml:"ignore_case"`
	// Not inverts equals, contains and regex. Default false.
	Not bool `yaml:"not"`
	// Tolerance is the largest absolute difference a numeric answer may
	// have. Default 1e-6.
	Tolerance float64 `yaml:"tolerance"`
	// Exact makes numeric compare the number as written (after removing
	// "$" and thousands separators), so "33.00" does not equal "33".
	// Default false.
	Exact bool `yaml:"exact"`
	// Schema is the JSON Schema (json_schema), written in YAML or JSON.
	Schema map[string]any `yaml:"schema"`
	// MaxMs bounds the latency in milliseconds (max_latency).
	MaxMs float64 `yaml:"max_ms"`
	// MaxUSD bounds the cost of the call (max_cost).
	MaxUSD float64 `yaml:"max_usd"`
	// Rubric is what the judge scores against (judge). Default: the
	// suite judge's rubric.
	Rubric string `yaml:"rubric"`
	// Threshold is the lowest judge score (1–5) that passes. Default 4.
	Threshold float64 `yaml:"threshold"`

	re     *regexp.Regexp
	schema *jsonschema.Schema
}

// AssertionResult is the outcome of one assertion on one answer.
type AssertionResult struct {
	Type string `json:"type"`
	Pass bool   `json:"pass"`
	// Detail says what was found, e.g. "got 18, want 18".
	Detail string `json:"detail,omitempty"`
	// Score is the judge's score (judge only).
	Score *float64 `json:"score,omitempty"`
}

// compile checks the assertion and prepares its regexp or schema.
func (a *Assertion) compile() error {
	switch a.Type {
	case "equals", "contains":
		if a.Value == "" {
			return fmt.Errorf("%s: value is required", a.Type)
		}
	case "regex":
		if a.Value == "" {
			return errors.New("regex: value is required")
		}
		if !strings.Contains(a.Value, "{{") {
			re, err := regexp.Compile(a.Value)
			if err != nil {
				return fmt.Errorf("regex: %w", err)
			}
			a.re = re
		}
	case "numeric":
		if a.Value == "" {
			return errors.New("numeric: value is required")
		}
		if a.Tolerance < 0 {
			return errors.New("numeric: tolerance must not be negative")
		}
		if a.Tolerance == 0 {
			a.Tolerance = 1e-6
		}
	case "json":
	case "json_schema":
		if a.Schema == nil {
			return errors.New("json_schema: schema is required")
		}
		raw, err := json.Marshal(a.Schema)
		if err != nil {
			return fmt.Errorf("json_schema: %w", err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("json_schema: %w", err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("suite-schema.json", doc); err != nil {
			return fmt.Errorf("json_schema: %w", err)
		}
		sch, err := c.Compile("suite-schema.json")
		if err != nil {
			return fmt.Errorf("json_schema: %w", err)
		}
		a.schema = sch
	case "max_latency":
		if a.MaxMs <= 0 {
			return errors.New("max_latency: max_ms must be positive")
		}
	case "max_cost":
		if a.MaxUSD <= 0 {
			return errors.New("max_cost: max_usd must be positive")
		}
	case "judge":
		if a.Threshold == 0 {
			a.Threshold = 4
		}
		if a.Threshold < 1 || a.Threshold > 5 {
			return errors.New("judge: threshold must be between 1 and 5")
		}
	case "":
		return errors.New("type is required")
	default:
		return fmt.Errorf("unknown assertion type %q (want equals, contains, regex, numeric, json, json_schema, max_latency, max_cost or judge)", a.Type)
	}
	return nil
}

// check evaluates every assertion but judge on a finished call.
func (a *Assertion) check(r *Result, vars map[string]string) AssertionResult {
	out := AssertionResult{Type: a.Type}
	answer := r.Answer
	want, err := expand(a.Value, vars)
	if err != nil {
		out.Detail = err.Error()
		return out
	}
	switch a.Type {
	case "equals":
		got := strings.TrimSpace(answer)
		want = strings.TrimSpace(want)
		out.Pass = got == want || (a.IgnoreCase && strings.EqualFold(got, want))
		out.Pass = out.Pass != a.Not
		if !out.Pass {
			out.Detail = fmt.Sprintf("want %s%q", notPrefix(a.Not), clip(want, 80))
		}
	case "contains":
		if a.IgnoreCase {
			out.Pass = strings.Contains(strings.ToLower(answer), strings.ToLower(want))
		} else {
			out.Pass = strings.Contains(answer, want)
		}
		out.Pass = out.Pass != a.Not
		if !out.Pass {
			out.Detail = fmt.Sprintf("want %scontaining %q", notPrefix(a.Not), clip(want, 80))
		}
	case "regex":
		re := a.re
		if re == nil {
			if re, err = regexp.Compile(want); err != nil {
				out.Detail = err.Error()
				return out
			}
		}
		out.Pass = re.MatchString(answer) != a.Not
		if !out.Pass {
			out.Detail = fmt.Sprintf("want %smatching /%s/", notPrefix(a.Not), clip(re.String(), 80))
		}
	case "numeric":
		got, ok := ExtractNumber(answer)
		if !ok {
			out.Detail = fmt.Sprintf("no number in the answer, want %s", want)
			return out
		}
		out.Pass = numberMatches(got, want, a.Exact, a.Tolerance)
		out.Detail = fmt.Sprintf("got %s, want %s", got, cleanNumber(strings.TrimSpace(want)))
	case "json":
		if js := jsonPart(answer); json.Valid([]byte(js)) {
			out.Pass = true
		} else {
			out.Detail = "not valid JSON"
		}
	case "json_schema":
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(jsonPart(answer)))
		if err != nil {
			out.Detail = "not valid JSON"
			return out
		}
		if err := a.schema.Validate(inst); err != nil {
			out.Detail = clip(strings.Join(strings.Fields(err.Error()), " "), 200)
			return out
		}
		out.Pass = true
	case "max_latency":
		out.Pass = r.LatencyMs <= a.MaxMs
		out.Detail = fmt.Sprintf("%.0f ms, max %.0f ms", r.LatencyMs, a.MaxMs)
	case "max_cost":
		if !r.CostKnown {
			out.Detail = "cost unknown (no price for this model)"
			return out
		}
		out.Pass = r.CostUSD <= a.MaxUSD
		out.Detail = fmt.Sprintf("$%.6f, max $%.6f", r.CostUSD, a.MaxUSD)
	}
	return out
}

// jsonPart strips a Markdown code fence around a JSON answer, as models
// often add one ("```json\n{...}\n```").
func jsonPart(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "```") {
		return s
	}
	s = strings.TrimPrefix(s, "```")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
}

func notPrefix(not bool) string {
	if not {
		return "not "
	}
	return ""
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n-- // do not cut a UTF-8 sequence
	}
	return s[:n] + "…"
}

// Compile checks the assertion and prepares it, for callers outside eval
// that check answers themselves (shadow comparisons).
func (a *Assertion) Compile() error { return a.compile() }

// CheckAnswer evaluates a compiled assertion other than judge on an
// answer with its latency and cost, as a suite run would.
func (a *Assertion) CheckAnswer(answer string, latencyMs, costUSD float64, costKnown bool) AssertionResult {
	return a.check(&Result{Answer: answer, LatencyMs: latencyMs, CostUSD: costUSD, CostKnown: costKnown}, nil)
}
