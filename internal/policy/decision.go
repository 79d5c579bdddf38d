package policy

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/upstream"
)

// ClassCount is a data class and how many values of it were detected (0
// for a class only declared by the client). Never a value.
type ClassCount struct {
	Class string
	Count int
}

// Decision is the policy outcome for one request. It is immutable once
// returned and safe to read from several goroutines; it holds sensitive
// values only when Action is ActionRedact (to restore them), so it must
// not be logged or kept beyond the request.
type Decision struct {
	// Policy is the name of the policy applied.
	Policy string
	// Classes are the detected and declared classes, sorted by name.
	Classes []ClassCount
	// Action is the strictest action of the classes present.
	Action Action
	// Regions, when non-nil, are the only provider regions the request
	// may reach (the intersection of every present class's requirement;
	// empty when they contradict, so that nothing is permitted).
	Regions []string
	// Retention, when non-nil, are the only provider retention terms the
	// request may reach, like Regions.
	Retention []string

	// blocking are the classes whose action is the decision's action (for
	// messages).
	blocking []string
	// subs maps values to placeholders, in order of first appearance
	// (ActionRedact only).
	subs []substitution
	rep  *replacers
	// body is the request body to forward (EvaluateBody only).
	body []byte
	// policies are the names the decision was made under.
	policies []string
}

type substitution struct{ value, placeholder string }

func (ev *evaluator) decide(declared []string) *Decision {
	d := &Decision{Policy: ev.p.name, policies: ev.names}
	n := ev.nc + len(ev.more) + len(declared)
	if n == 0 {
		return d
	}
	d.Classes = make([]ClassCount, 0, n)
	d.Classes = append(d.Classes, ev.counts[:ev.nc]...)
	d.Classes = append(d.Classes, ev.more...)
	for _, c := range declared {
		if c != "" && !slices.ContainsFunc(d.Classes, func(cc ClassCount) bool { return cc.Class == c }) {
			d.Classes = append(d.Classes, ClassCount{Class: c})
		}
	}
	slices.SortFunc(d.Classes, func(a, b ClassCount) int { return strings.Compare(a.Class, b.Class) })

	for _, cc := range d.Classes {
		r := ev.p.rule(cc.Class)
		a := r.action
		if a == ActionRedact && (cc.Count == 0 || slices.Contains(ev.fixed, cc.Class)) {
			// A declared class has no values to redact, and content
			// kinds and opaque texts cannot be rewritten: keep the whole
			// request home instead.
			a = ActionSelfHostedOnly
		}
		switch {
		case a > d.Action:
			d.Action = a
			d.blocking = append(d.blocking[:0], cc.Class)
		case a == d.Action:
			d.blocking = append(d.blocking, cc.Class)
		}
		if r.regions != nil {
			d.Regions = intersect(d.Regions, r.regions)
		}
		if r.retention != nil {
			d.Retention = intersect(d.Retention, r.retention)
		}
	}
	if d.Action == ActionRedact {
		d.subs = placeholders(ev.values, ev.taken)
		if len(d.subs) > 0 {
			d.rep = newReplacers(d.subs)
		}
	}
	return d
}

// intersect returns have ∩ want, treating a nil have as "anything".
// Comparison ignores case.
func intersect(have, want []string) []string {
	out := make([]string, 0, len(want))
	for _, w := range want {
		if (have == nil || slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) })) &&
			!slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, w) }) {
			out = append(out, w)
		}
	}
	return out
}

// Policies returns the names of the data policies the decision was made
// under (the default's when none was named), so that what it cleared can
// be judged under them again (a stored conversation continued later).
func (d *Decision) Policies() []string {
	if len(d.policies) == 0 {
		return []string{d.Policy}
	}
	return slices.Clone(d.policies)
}

// Rejudge decides again, for a call to another model (a shadow candidate,
// a judge), the classes d found, under d's policies and names together:
// the strictest wins, so the result permits no more than d does, and a
// stricter policy of that model keeps the call where it says. A class d
// redacted stays redactable (the request sent is the redacted one); any
// other class cannot be redacted now, so redact means self_hosted_only
// for it. The result holds no values and restores nothing.
func (e *Engine) Rejudge(d *Decision, names []string) *Decision {
	base := d.policies
	if len(base) == 0 {
		base = []string{""} // the default
	}
	all := append(slices.Clone(base), names...)
	slices.Sort(all)
	all = slices.Compact(all)
	ev := e.evaluatorFor(all)
	defer e.release(ev)
	orig := e.policies(d.policies)
	var declared []string
	for _, cc := range d.Classes {
		if cc.Count == 0 {
			declared = append(declared, cc.Class)
			continue
		}
		ev.count(cc.Class, cc.Count)
		if !d.Redacts() || orig.rule(cc.Class).action != ActionRedact {
			ev.fix(cc.Class)
		}
	}
	return ev.decide(declared)
}

// Redacts reports whether the request's body was rewritten (Body) and its
// answer must be restored.
func (d *Decision) Redacts() bool { return d.Action == ActionRedact && d.rep != nil }

// Permits reports whether the request may be sent to the provider: never
// when blocked; only to self-hosted providers for self_hosted_only; and
// only to providers whose region and retention satisfy the requirements
// of the classes present.
func (d *Decision) Permits(info *upstream.Info) bool {
	switch d.Action {
	case ActionBlock:
		return false
	case ActionSelfHostedOnly:
		if info.Hosting != upstream.SelfHosted {
			return false
		}
	}
	if d.Regions != nil && !slices.ContainsFunc(d.Regions, func(r string) bool { return info.Region != "" && strings.EqualFold(r, info.Region) }) {
		return false
	}
	if d.Retention != nil && !slices.ContainsFunc(d.Retention, func(r string) bool { return info.Retention != "" && strings.EqualFold(r, info.Retention) }) {
		return false
	}
	return true
}

func (d *Decision) classNames() string {
	names := make([]string, len(d.Classes))
	for i, c := range d.Classes {
		names[i] = c.Class
	}
	return strings.Join(names, ",")
}

// Header returns the values of the x-fulcrum-data-classes header (class
// names, comma-separated, sorted; empty when none) and the
// x-fulcrum-policy-action header.
func (d *Decision) Header() (classes string, action string) {
	if len(d.Classes) == 0 {
		return "", d.Action.String()
	}
	return d.classNames(), d.Action.String()
}

// Err returns the error for a blocked request: 403 policy_error with code
// blocked_by_policy, naming the blocking classes and never a value. It
// returns nil when the request is not blocked.
//
// 403 rather than 400 or 422: the request is well-formed and could be
// served, but the policy forbids it; retrying it unchanged cannot succeed,
// and SDKs do not retry a 403.
func (d *Decision) Err() *llm.Error {
	if d.Action != ActionBlock {
		return nil
	}
	return &llm.Error{
		Status:  http.StatusForbidden,
		Type:    llm.ErrPolicy,
		Code:    "blocked_by_policy",
		Message: fmt.Sprintf("request blocked by data policy %q: it carries data classes %s, which the policy does not allow to be sent to any model", d.Policy, strings.Join(d.blocking, ", ")),
	}
}

// NoTargetErr returns the error for a request that no provider configured
// for its model may serve under the policy: 403 policy_error with code
// no_compliant_target, naming the classes. The request was not sent to a
// provider the policy excludes, and retrying it unchanged cannot succeed.
func (d *Decision) NoTargetErr() *llm.Error {
	if d.Action == ActionBlock {
		return d.Err()
	}
	classes := d.blockingNames()
	return &llm.Error{
		Status: http.StatusForbidden,
		Type:   llm.ErrPolicy,
		Code:   "no_compliant_target",
		Message: fmt.Sprintf("request carries data classes %s, which data policy %q keeps on %s; no such provider is configured for this model, and the request was not sent anywhere else",
			classes, d.Policy, d.where()),
	}
}

// UnavailableErr returns the error for a request whose permitted
// providers all failed as unavailable (cause) while policy excluded
// others: 503 policy_error no_compliant_target, keeping cause's
// Retry-After. The client learns that policy, not the model, is why no
// healthy provider was used.
func (d *Decision) UnavailableErr(cause *llm.Error) *llm.Error {
	return &llm.Error{
		Status:     http.StatusServiceUnavailable,
		Type:       llm.ErrPolicy,
		Code:       "no_compliant_target",
		RetryAfter: cause.RetryAfter,
		Provider:   cause.Provider,
		Message: fmt.Sprintf("request carries data classes %s, which data policy %q keeps on %s; those providers are unavailable right now (%s), and the request was not sent to any other provider",
			d.blockingNames(), d.Policy, d.where(), cause.Message),
		Err: cause,
	}
}

func (d *Decision) blockingNames() string {
	if len(d.blocking) > 0 {
		return strings.Join(d.blocking, ", ")
	}
	return strings.ReplaceAll(d.classNames(), ",", ", ")
}

func (d *Decision) where() string {
	var where []string
	if d.Action == ActionSelfHostedOnly {
		where = append(where, "self-hosted providers")
	} else {
		where = append(where, "providers")
	}
	if d.Regions != nil {
		where = append(where, "in region "+orNone(d.Regions))
	}
	if d.Retention != nil {
		where = append(where, "with retention "+orNone(d.Retention))
	}
	return strings.Join(where, " ")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none: the classes' requirements contradict each other)"
	}
	return strings.Join(s, " or ")
}
