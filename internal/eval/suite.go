// Package eval runs a task suite against several models side by side and
// reports quality (assertions or an LLM judge), latency and cost: the
// evidence `fulcrum eval` puts in front of a decision between models.
//
// A Suite (YAML) lists the models, the cases (inline or from a JSONL/CSV
// file, or the embedded GSM8K test set) and the assertions. Run sends every
// case to every model through a Client — the gateway over HTTP or providers
// in-process — with bounded concurrency, retries and an on-disk cache keyed
// by the exact request, and returns a Report that WriteJSON, WriteMarkdown
// and WriteHTML render. See docs/eval.md.
package eval

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Suite is an evaluation task suite as written in YAML.
type Suite struct {
	// Name labels the reports. Default: the file name without extension.
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Models are the model (or route) names to compare, as the gateway
	// serves them. Required (the CLI may override them).
	Models []string `yaml:"models"`
	// System, when set, is sent as a system message before each case.
	System string `yaml:"system"`
	// Prompt is the user message template, e.g. "{{question}}", for cases
	// that give variables rather than messages.
	Prompt string `yaml:"prompt"`
	// Messages is a conversation template (role and content with
	// {{variables}}); an alternative to Prompt.
	Messages []MessageTemplate `yaml:"messages"`
	// Assert applies to every case, before the case's own assertions.
	Assert []Assertion `yaml:"assert"`
	// Cases are inline cases.
	Cases []Case `yaml:"cases"`
	// CasesFrom loads more cases: a .jsonl or .csv path (relative to the
	// suite file) whose fields or columns become variables, or
	// "builtin:gsm8k" (variables question, solution, answer).
	CasesFrom string `yaml:"cases_from"`
	// Limit keeps only the first Limit cases. Default 0: all.
	Limit int `yaml:"limit"`
	// MaxTokens and Temperature are sent with every request when set.
	MaxTokens   *int     `yaml:"max_tokens"`
	Temperature *float64 `yaml:"temperature"`
	// Judge is the default judge for "judge" assertions.
	Judge *Judge `yaml:"judge"`
	// Concurrency bounds requests in flight. Default 8.
	Concurrency int `yaml:"concurrency"`
	// Retries is how often a failed call (429, 5xx, timeout, network) is
	// retried. Default 2; 0: never. A pointer, so that 0 is not read as
	// unset (it was, and became 2).
	Retries *int `yaml:"retries"`
	// Costs gives self-hosted cost models by model name, for models the
	// price catalogue does not price.
	Costs map[string]SelfHostedCost `yaml:"costs"`
}

// MessageTemplate is one templated message.
type MessageTemplate struct {
	Role    string `yaml:"role"`
	Content string `yaml:"content"`
}

// Case is one task.
type Case struct {
	// ID names the case in reports. Default: its 1-based position.
	ID string `yaml:"id"`
	// Vars fill the {{variables}} of the prompt, messages and assertions.
	Vars map[string]string `yaml:"vars"`
	// Prompt, when set, is the user message (overriding the suite's).
	Prompt string `yaml:"prompt"`
	// Messages, when set, is the conversation (overriding the suite's).
	Messages []MessageTemplate `yaml:"messages"`
	// Assert adds assertions for this case.
	Assert []Assertion `yaml:"assert"`
}

// Judge is the model that scores "judge" assertions.
type Judge struct {
	// Model is a model name the client can call. Required.
	Model string `yaml:"model"`
	// Rubric is the default rubric.
	Rubric string `yaml:"rubric"`
}

// SelfHostedCost prices a self-hosted model's output tokens from its GPU
// rent and throughput: (GPUHourlyUSD × GPUs) / (OutputTokensPerSecond ×
// 3600 × Utilisation) per output token.
type SelfHostedCost struct {
	GPUHourlyUSD float64 `yaml:"gpu_hourly_usd" json:"gpu_hourly_usd"`
	// GPUs per replica. Default 1.
	GPUs int `yaml:"gpus" json:"gpus"`
	// OutputTokensPerSecond is the replica's measured or published
	// throughput.
	OutputTokensPerSecond float64 `yaml:"output_tokens_per_second" json:"output_tokens_per_second"`
	// Utilisation is the busy share of paid GPU time, 0–1. Default 1.
	Utilisation float64 `yaml:"utilisation" json:"utilisation"`
	// PerMillionOutputUSD, when set, is used instead of the GPU figures.
	PerMillionOutputUSD float64 `yaml:"per_million_output_usd" json:"per_million_output_usd,omitempty"`
	// Note says where the figures come from; it is shown in reports.
	Note string `yaml:"note" json:"note,omitempty"`
}

// PerMillionOutput is the self-hosted price of a million output tokens.
func (c SelfHostedCost) PerMillionOutput() float64 {
	if c.PerMillionOutputUSD > 0 {
		return c.PerMillionOutputUSD
	}
	gpus, util := c.GPUs, c.Utilisation
	if gpus <= 0 {
		gpus = 1
	}
	if util <= 0 {
		util = 1
	}
	if c.OutputTokensPerSecond <= 0 {
		return 0
	}
	return c.GPUHourlyUSD * float64(gpus) / (c.OutputTokensPerSecond * 3600 * util) * 1e6
}

// LoadSuite reads a suite file and the cases it references.
func LoadSuite(path string) (*Suite, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	s, err := ParseSuite(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("eval: %s: %w", path, err)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return s, nil
}

// ParseSuite decodes a suite, loads CasesFrom relative to dir, applies
// defaults and checks it: every assertion compiles and every template
// variable is defined by every case.
func ParseSuite(b []byte, dir string) (*Suite, error) {
	var s Suite
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the suite is empty: give cases (or cases_from) and models")
		}
		return nil, err
	}
	if s.CasesFrom != "" {
		from := s.CasesFrom
		if !strings.HasPrefix(from, "builtin:") && !filepath.IsAbs(from) {
			from = filepath.Join(dir, from)
		}
		more, err := LoadCases(from)
		if err != nil {
			return nil, fmt.Errorf("cases_from: %w", err)
		}
		s.Cases = append(s.Cases, more...)
	}
	if s.Limit > 0 && len(s.Cases) > s.Limit {
		s.Cases = s.Cases[:s.Limit]
	}
	if s.Concurrency <= 0 {
		s.Concurrency = 8
	}
	if s.Retries == nil {
		two := 2
		s.Retries = &two
	} else if *s.Retries < 0 {
		zero := 0
		s.Retries = &zero
	}
	for i := range s.Cases {
		if s.Cases[i].ID == "" {
			if id := s.Cases[i].Vars["id"]; id != "" {
				s.Cases[i].ID = id
			} else {
				s.Cases[i].ID = fmt.Sprint(i + 1)
			}
		}
	}
	return &s, s.validate()
}

func (s *Suite) validate() error {
	var errs []error
	if len(s.Cases) == 0 {
		errs = append(errs, errors.New("no cases (give cases or cases_from)"))
	}
	if s.Prompt != "" && len(s.Messages) > 0 {
		errs = append(errs, errors.New("give prompt or messages, not both"))
	}
	for i, a := range s.Assert {
		if err := a.compile(); err != nil {
			errs = append(errs, fmt.Errorf("assert[%d]: %w", i, err))
		}
		s.Assert[i] = a
	}
	seen := map[string]bool{}
	for i := range s.Cases {
		c := &s.Cases[i]
		path := fmt.Sprintf("cases[%d]", i)
		if seen[c.ID] {
			errs = append(errs, fmt.Errorf("%s.id: duplicate %q", path, c.ID))
		}
		seen[c.ID] = true
		for j := range c.Assert {
			if err := c.Assert[j].compile(); err != nil {
				errs = append(errs, fmt.Errorf("%s.assert[%d]: %w", path, j, err))
			}
		}
		if _, err := s.messages(c); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
		for _, a := range s.assertions(c) {
			if a.Type == "judge" && s.Judge == nil {
				errs = append(errs, fmt.Errorf("%s: a judge assertion needs the suite's judge.model", path))
			}
			if _, err := expand(a.Value, c.Vars); err != nil {
				errs = append(errs, fmt.Errorf("%s: assertion %s: %w", path, a.Type, err))
			}
		}
		if len(errs) > 20 {
			break // one mistake in a template repeats on every case
		}
	}
	if s.Judge != nil && s.Judge.Model == "" {
		errs = append(errs, errors.New("judge.model: required"))
	}
	return errors.Join(errs...)
}

// assertions are the suite's and then the case's.
func (s *Suite) assertions(c *Case) []Assertion {
	if len(c.Assert) == 0 {
		return s.Assert
	}
	out := make([]Assertion, 0, len(s.Assert)+len(c.Assert))
	return append(append(out, s.Assert...), c.Assert...)
}

// messages builds a case's conversation from the case's or the suite's
// templates.
func (s *Suite) messages(c *Case) ([]MessageTemplate, error) {
	var tmpl []MessageTemplate
	switch {
	case len(c.Messages) > 0:
		tmpl = c.Messages
	case c.Prompt != "":
		tmpl = []MessageTemplate{{Role: "user", Content: c.Prompt}}
	case len(s.Messages) > 0:
		tmpl = s.Messages
	case s.Prompt != "":
		tmpl = []MessageTemplate{{Role: "user", Content: s.Prompt}}
	default:
		return nil, errors.New("no prompt or messages (in the case or the suite)")
	}
	out := make([]MessageTemplate, 0, len(tmpl)+1)
	if s.System != "" && tmpl[0].Role != "system" {
		sys, err := expand(s.System, c.Vars)
		if err != nil {
			return nil, fmt.Errorf("system: %w", err)
		}
		out = append(out, MessageTemplate{Role: "system", Content: sys})
	}
	for _, m := range tmpl {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return nil, fmt.Errorf("message role %q (want system, user or assistant)", m.Role)
		}
		text, err := expand(m.Content, c.Vars)
		if err != nil {
			return nil, err
		}
		out = append(out, MessageTemplate{Role: m.Role, Content: text})
	}
	return out, nil
}

// expand replaces {{name}} (spaces inside the braces allowed) with vars.
// An undefined variable is an error; text without braces is returned as is.
func expand(s string, vars map[string]string) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		name := strings.TrimSpace(s[i+2 : i+j])
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("undefined variable {{%s}}", name)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+2:]
	}
}
