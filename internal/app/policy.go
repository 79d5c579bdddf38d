package app

import (
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
)

// guard applies the data policy: the key's policy wins, then the model's,
// then the default.
type guard struct {
	engine  *policy.Engine
	byModel map[string]string
}

func newGuard(cfg *config.Config) (*guard, error) {
	e, err := policy.New(cfg.Policy)
	if err != nil {
		return nil, err
	}
	g := &guard{engine: e, byModel: map[string]string{}}
	for _, m := range cfg.Models {
		if m.Policy != "" {
			g.byModel[m.Name] = m.Policy
		}
	}
	return g, nil
}

func (g *guard) policyFor(c *gateway.Caller, model string) string {
	if c != nil && c.Policy != "" {
		return c.Policy
	}
	return g.byModel[model]
}

func (g *guard) Evaluate(req *llm.ChatRequest, declared []string, c *gateway.Caller) gateway.Verdict {
	return verdict{g.engine.Evaluate(req, declared, g.policyFor(c, req.Model))}
}

func (g *guard) EvaluateTexts(texts []string, declared []string, c *gateway.Caller) gateway.Verdict {
	return verdict{g.engine.EvaluateTexts(texts, declared, g.policyFor(c, ""))}
}

// verdict adapts *policy.Decision to gateway.Verdict.
type verdict struct{ *policy.Decision }

func (v verdict) Redacts() bool { return v.Action == policy.ActionRedact }

func (v verdict) NewStreamRestorer() gateway.StreamRestorer { return v.Decision.NewStreamRestorer() }

// auditClasses are the decision's classes for the audit log.
func (v verdict) auditClasses() []policy.ClassCount { return v.Classes }
