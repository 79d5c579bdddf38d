package app

import (
	"slices"
	"strings"
	"sync"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/tiktoken-go/tokenizer"
)

// guard applies the data policy. The policies that apply to a request are
// the key's, the requested route's, and those of every model the request
// may reach (a model, or a route's targets and judge); class by class the
// strictest wins. When none of them names a policy, the default applies.
type guard struct {
	engine *policy.Engine
	// byName lists, per model or route name, the policies of that name
	// and of the models it may reach (sorted, without duplicates).
	byName map[string][]string
	// upstream maps a model name to its upstream model id.
	upstream map[string]string
}

func newGuard(cfg *config.Config) (*guard, error) {
	e, err := policy.New(cfg.Policy, policy.MaxJSONDepth(cfg.Server.MaxJSONDepth))
	if err != nil {
		return nil, err
	}
	g := &guard{engine: e, byName: map[string][]string{}, upstream: map[string]string{}}
	modelPolicy := map[string]string{}
	for _, m := range cfg.Models {
		modelPolicy[m.Name] = m.Policy
		g.upstream[m.Name] = cmpOr(m.Upstream, m.Name)
		if m.Policy != "" {
			g.byName[m.Name] = []string{m.Policy}
		}
	}
	for _, r := range cfg.Routes {
		var names []string
		add := func(p string) {
			if p != "" && !slices.Contains(names, p) {
				names = append(names, p)
			}
		}
		add(r.Policy)
		for _, t := range r.Targets {
			add(modelPolicy[t.Model])
		}
		if r.Cascade != nil && r.Cascade.Judge != nil {
			add(modelPolicy[r.Cascade.Judge.Model])
		}
		slices.Sort(names)
		if len(names) > 0 {
			g.byName[r.Name] = names
		}
	}
	return g, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// policies returns the policies for a caller and a requested name.
func (g *guard) policies(c *gateway.Caller, model string) []string {
	names := g.byName[model]
	if c == nil || c.Policy == "" || slices.Contains(names, c.Policy) {
		return names
	}
	out := append(slices.Clip(names), c.Policy)
	slices.Sort(out)
	return out
}

func (g *guard) Evaluate(in *gateway.PolicyInput) (gateway.Verdict, error) {
	pi := policy.Input{Body: in.Body, Declared: in.Declared, Policies: g.policies(in.Caller, in.Model)}
	if len(in.Policies) > 0 {
		// A stored conversation's policies apply too (strictest wins).
		names := append(slices.Clone(pi.Policies), in.Policies...)
		slices.Sort(names)
		pi.Policies = slices.Compact(names)
	}
	// The query string and forwarded headers leave as sent: opaque.
	pi.Opaque = in.Forwarded
	if len(in.Tokens) > 0 {
		if texts, ok := g.decodeTokens(in.Model, in.Tokens); ok {
			pi.Opaque = append(slices.Clip(pi.Opaque), texts...)
		} else {
			pi.Kinds = []string{policy.KindTokens}
		}
	}
	return g.engine.EvaluateBody(pi)
}

// clearFor is the clearance of a call for a request with verdict v to
// another model (a shadow candidate, a judge): v decided again with that
// model's policies too, so the call gets no more than they allow.
func (g *guard) clearFor(v gateway.Verdict, c *gateway.Caller, model string) policy.Clearance {
	return g.engine.Rejudge(v, g.policies(c, model)).Clearance()
}

var (
	cl100kOnce sync.Once
	cl100k     tokenizer.Codec
)

// decodeTokens turns token-id inputs (embeddings inputs, completions
// prompts) back into text with the model's tokenizer, when Fulcrum knows
// it: OpenAI's text-embedding-3 and ada-002 models and its completions
// models (gpt-3.5-turbo-instruct, davinci-002, babbage-002) use
// cl100k_base. An id outside the vocabulary (or a
// special token) makes the input undecodable: it is then the tokens
// content kind, which policy cannot read.
func (g *guard) decodeTokens(model string, tokens [][]int) ([]string, bool) {
	up := cmpOr(g.upstream[model], model)
	switch {
	case strings.HasPrefix(up, "text-embedding-3-"), up == "text-embedding-ada-002",
		up == "gpt-3.5-turbo-instruct", up == "davinci-002", up == "babbage-002":
	default:
		return nil, false
	}
	cl100kOnce.Do(func() { cl100k, _ = tokenizer.Get(tokenizer.Cl100kBase) })
	if cl100k == nil {
		return nil, false
	}
	out := make([]string, 0, len(tokens))
	ids := make([]uint, 0, 256)
	for _, t := range tokens {
		ids = ids[:0]
		for _, id := range t {
			if id < 0 {
				return nil, false
			}
			ids = append(ids, uint(id))
		}
		s, err := cl100k.Decode(ids)
		if err != nil {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
