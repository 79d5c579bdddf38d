package eval

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
)

// A judge call is made on behalf of the item it judges, so it is cleared
// with what that item carried, exactly as the gateway's cascade judge is
// cleared with its request's decision (policy.Clearance): a sensitive eval
// item never reaches a judge its policy would not let the item reach.
//
//   - In-process (ProviderClient from a config), every call, judge or
//     not, is evaluated by the config's data policy before its provider is
//     called; a judge call is evaluated with the judged item's messages and
//     answer as opaque texts (a class found there is never redacted, so
//     redact keeps the judge on self-hosted providers) and under the
//     judged model's policies as well as the judge model's.
//   - Through a gateway (HTTPClient), the classes the gateway reported for
//     the item (X-Fulcrum-Data-Classes) are declared on the judge call
//     (X-Fulcrum-Data-Class), and the gateway scans the judge prompt too.

// judgedKey marks the context of a judge call with the item it judges.
type judgedKey struct{}

// judged is what a judged item carried.
type judged struct {
	// model is the evaluated model (its policies apply to the judge call).
	model string
	// texts are the item's messages and the model's answer.
	texts []string
	// classes are the data classes policy found in the item's call.
	classes []string
}

func withJudged(ctx context.Context, j *judged) context.Context {
	return context.WithValue(ctx, judgedKey{}, j)
}

func judgedFrom(ctx context.Context) *judged {
	j, _ := ctx.Value(judgedKey{}).(*judged)
	return j
}

// classesKey carries a sink for the classes policy found in a call.
type classesKey struct{}

func withClassSink(ctx context.Context, sink *[]string) context.Context {
	return context.WithValue(ctx, classesKey{}, sink)
}

func reportClasses(ctx context.Context, classes []string) {
	if sink, ok := ctx.Value(classesKey{}).(*[]string); ok && sink != nil {
		*sink = classes
	}
}

// evalPolicy is the config's data policy for in-process calls.
type evalPolicy struct {
	engine *policy.Engine
	// byModel names the policies of each model (none: the default).
	byModel map[string][]string
}

func newEvalPolicy(cfg *config.Config) (*evalPolicy, error) {
	e, err := policy.New(cfg.Policy, policy.MaxJSONDepth(cfg.Server.MaxJSONDepth))
	if err != nil {
		return nil, err
	}
	p := &evalPolicy{engine: e, byModel: map[string][]string{}}
	for _, m := range cfg.Models {
		if m.Policy != "" {
			p.byModel[m.Name] = []string{m.Policy}
		}
	}
	return p, nil
}

// clear evaluates req (for model m) and returns the request to send (req
// itself, or req with its messages redacted) and the permit for m's
// provider that the decision mints. The decision is returned so the
// answer's redacted values can be restored.
func (p *evalPolicy) clear(ctx context.Context, req *llm.ChatRequest, m providerModel) (*llm.ChatRequest, *policy.Decision, policy.Permit, error) {
	body, err := json.Marshal(wireRequest(req))
	if err != nil {
		return nil, nil, policy.Permit{}, err
	}
	in := policy.Input{Body: body, Policies: p.byModel[req.Model]}
	if j := judgedFrom(ctx); j != nil {
		in.Opaque, in.Declared = j.texts, j.classes
		for _, name := range p.byModel[j.model] {
			if !contains(in.Policies, name) {
				in.Policies = append(append([]string(nil), in.Policies...), name)
			}
		}
	}
	d, err := p.engine.EvaluateBody(in)
	if err != nil {
		return nil, nil, policy.Permit{}, err
	}
	names := make([]string, len(d.Classes))
	for i, c := range d.Classes {
		names[i] = c.Class
	}
	reportClasses(ctx, names)
	if e := d.Err(); e != nil {
		return nil, nil, policy.Permit{}, e
	}
	pm, err := d.Clearance().Permit(m.p.Info())
	if err != nil {
		return nil, nil, policy.Permit{}, d.NoTargetErr()
	}
	if !d.Redacts() {
		return req, d, pm, nil
	}
	var w chatRequest
	if err := json.Unmarshal(d.Body(), &w); err != nil || len(w.Messages) != len(req.Messages) {
		return nil, nil, policy.Permit{}, &llm.Error{Status: http.StatusForbidden, Type: llm.ErrPolicy, Code: "blocked_by_policy", Message: "eval: the redacted request could not be read back"}
	}
	r := *req
	r.Messages = make([]llm.Message, len(w.Messages))
	for i, msg := range w.Messages {
		r.Messages[i] = llm.TextMessage(llm.Role(msg.Role), msg.Content)
	}
	return &r, d, pm, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// declareHeader is the X-Fulcrum-Data-Class value of a judge call.
func declareHeader(ctx context.Context) string {
	if j := judgedFrom(ctx); j != nil {
		return strings.Join(j.classes, ",")
	}
	return ""
}
