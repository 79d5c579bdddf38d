package policy

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/jsonscan"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy/detect"
)

// Engine evaluates requests against the configured policies. It is
// immutable after New and safe for concurrent use; a config reload builds
// a new Engine.
type Engine struct {
	scanner  *detect.Scanner
	disabled bool
	def      *compiled
	byName   map[string]*compiled
	// evals recycles scratch state, so that a clean request costs one
	// allocation (its Decision).
	evals sync.Pool
	// merged caches the strictest combination of several policies, by
	// their names joined with '+'.
	merged sync.Map
	// json reads request bodies, to the gateway's server.max_json_depth.
	json jsonscan.Reader
}

// Option configures an Engine.
type Option func(*Engine)

// MaxJSONDepth makes EvaluateBody read bodies nested up to n levels (the
// gateway's server.max_json_depth; default jsonscan.MaxDepth), so that a
// body the gateway's limit accepts is scanned to the end, never refused
// by the scanner as too deep.
func MaxJSONDepth(n int) Option { return func(e *Engine) { e.json.MaxDepth = n } }

// compiled is one named policy, ready to apply.
type compiled struct {
	name    string
	mask    detect.Mask
	deflt   rule // for classes not in classes
	classes map[string]rule
	// quiet are the well-known texts in which mask's detectors find
	// nothing (quiet.go); read-only once the policy is made.
	quiet map[string]bool
}

// rule is the action and requirements for one class.
type rule struct {
	action    Action
	regions   []string // nil: no constraint
	retention []string // nil: no constraint
}

func (p *compiled) rule(class string) rule {
	if r, ok := p.classes[class]; ok {
		return r
	}
	return p.deflt
}

// New compiles the policy configuration: every regular expression and
// phone pattern is prepared here, never per request. A zero config.Policy
// gives the built-in default (self_hosted_only for every detected class;
// loopback and documentation addresses are not detected at all).
func New(cfg config.Policy, options ...Option) (*Engine, error) {
	if cfg.Default == "" {
		cfg.Default = config.DefaultPolicyName
	}
	if cfg.PhoneRegions == nil {
		cfg.PhoneRegions = []string{"US", "GB", "DE", "FR"}
	}
	if len(cfg.Policies) == 0 {
		cfg.Policies = []config.DataPolicy{{Name: cfg.Default}}
	}
	opts := detect.Options{PhoneRegions: cfg.PhoneRegions}
	for _, c := range cfg.CustomDetectors {
		opts.Custom = append(opts.Custom, detect.Custom{Class: c.Class, Pattern: c.Pattern, Keywords: c.Keywords})
	}
	sc, err := detect.New(opts)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	e := &Engine{scanner: sc, disabled: cfg.Disabled, byName: map[string]*compiled{}}
	for _, o := range options {
		o(e)
	}
	for i, dp := range cfg.Policies {
		p, err := compile(sc, dp)
		if err != nil {
			return nil, fmt.Errorf("policy: policies[%d] (%q): %w", i, dp.Name, err)
		}
		p.quiet = e.quietTexts(p)
		e.byName[dp.Name] = p
	}
	e.def = e.byName[cfg.Default]
	if e.def == nil {
		return nil, fmt.Errorf("policy: default policy %q is not defined", cfg.Default)
	}
	return e, nil
}

func compile(sc *detect.Scanner, dp config.DataPolicy) (*compiled, error) {
	p := &compiled{name: dp.Name, classes: map[string]rule{}}
	if dp.Detect == nil {
		p.mask = detect.Builtin | sc.AllCustom()
	}
	for _, d := range dp.Detect {
		m := detect.BuiltinMask(d) | sc.CustomMask(d)
		if m == 0 {
			return nil, fmt.Errorf("unknown detector %q", d)
		}
		p.mask |= m
	}
	on := dp.OnSensitive
	if on == "" {
		on = config.ActionSelfHostedOnly
	}
	a, err := ParseAction(on)
	if err != nil {
		return nil, err
	}
	p.deflt = rule{action: a, regions: dp.Require.Regions, retention: dp.Require.Retention}
	for class, cr := range dp.Classes {
		r := p.deflt
		if cr.Action != "" {
			if r.action, err = ParseAction(cr.Action); err != nil {
				return nil, fmt.Errorf("classes.%s: %w", class, err)
			}
		}
		if cr.Regions != nil {
			r.regions = cr.Regions
		}
		if cr.Retention != nil {
			r.retention = cr.Retention
		}
		p.classes[class] = r
	}
	return p, nil
}

// Has reports whether a policy with this name exists.
func (e *Engine) Has(name string) bool { _, ok := e.byName[name]; return ok }

// policies returns the strictest combination of the named policies (the
// default policy when none is named). Combinations are built once.
func (e *Engine) policies(names []string) *compiled {
	switch len(names) {
	case 0:
		return e.def
	case 1:
		return e.policy(names[0])
	}
	key := strings.Join(names, "+")
	if p, ok := e.merged.Load(key); ok {
		return p.(*compiled)
	}
	p := e.policy(names[0])
	for _, n := range names[1:] {
		if q := e.policy(n); q != p {
			p = strictest(p, q)
			p.quiet = e.quietTexts(p)
		}
	}
	e.merged.Store(key, p)
	return p
}

// strictest combines two policies class by class: the stricter action,
// and the intersection of region and retention requirements. Both
// policies' detectors run.
func strictest(a, b *compiled) *compiled {
	if a == b {
		return a
	}
	out := &compiled{name: a.name + "+" + b.name, mask: a.mask | b.mask, deflt: stricterRule(a.deflt, b.deflt), classes: map[string]rule{}}
	for c := range a.classes {
		out.classes[c] = stricterRule(a.rule(c), b.rule(c))
	}
	for c := range b.classes {
		out.classes[c] = stricterRule(a.rule(c), b.rule(c))
	}
	return out
}

func stricterRule(a, b rule) rule {
	r := rule{action: max(a.action, b.action)}
	r.regions = a.regions
	if b.regions != nil {
		r.regions = intersect(a.regions, b.regions)
	}
	r.retention = a.retention
	if b.retention != nil {
		r.retention = intersect(a.retention, b.retention)
	}
	return r
}

func (e *Engine) policy(name string) *compiled {
	if name == "" {
		return e.def
	}
	if p, ok := e.byName[name]; ok {
		return p
	}
	// Config validation rejects unknown names; an engine built by hand
	// falls back to the default rather than to no policy at all.
	return e.def
}

// Scanner returns the engine's scanner (for benchmarks and tools).
func (e *Engine) Scanner() *detect.Scanner { return e.scanner }

// Evaluate scans every text the request carries (system prompt, message
// text parts, tool-call arguments and tool results, after JSON unescaping;
// not images), applies the policy named policyName ("" for the default)
// and the classes the client declared, and returns the decision. Declared
// classes can only tighten the decision.
func (e *Engine) Evaluate(req *llm.ChatRequest, declared []string, policyName string) *Decision {
	ev := e.evaluator(policyName)
	defer e.release(ev)
	if !e.disabled {
		for i := range req.Messages {
			m := &req.Messages[i]
			for k := range m.Content {
				if m.Content[k].Type == llm.PartText {
					ev.scan(m.Content[k].Text)
				}
			}
			for k := range m.ToolCalls {
				ev.scan(m.ToolCalls[k].Arguments)
			}
		}
	}
	return ev.decide(declared)
}

// EvaluateTexts is Evaluate for embeddings inputs and other bare texts.
func (e *Engine) EvaluateTexts(texts []string, declared []string, policyName string) *Decision {
	ev := e.evaluator(policyName)
	defer e.release(ev)
	if !e.disabled {
		for _, t := range texts {
			ev.scan(t)
		}
	}
	return ev.decide(declared)
}

func (e *Engine) evaluator(policyName string) *evaluator {
	var names []string
	if policyName != "" {
		names = []string{policyName}
	}
	return e.evaluatorFor(names)
}

func (e *Engine) evaluatorFor(names []string) *evaluator {
	ev, _ := e.evals.Get().(*evaluator)
	if ev == nil {
		ev = &evaluator{e: e}
		// Made once per pooled evaluator: a closure over ev built per
		// body walk was an allocation a request.
		ev.visitFn = ev.visitBody
	}
	ev.p = e.policies(names)
	ev.names = names
	return ev
}

// release clears the scratch state (it may hold values) and recycles it.
func (e *Engine) release(ev *evaluator) {
	ev.nc = 0
	ev.more = ev.more[:0]
	ev.fixed = ev.fixed[:0]
	ev.taken = ev.taken[:0]
	ev.names = nil
	clear(ev.values)
	ev.values = ev.values[:0]
	ev.buf = ev.buf[:0]
	clear(ev.tail)
	ev.tail = ev.tail[:0]
	ev.seamLeft = seamBudget(64 << 20)
	clear(ev.join)
	ev.join = ev.join[:0]
	clear(ev.head)
	ev.head = ev.head[:0]
	clear(ev.piece)
	ev.piece = ev.piece[:0]
	if cap(ev.buf) > 1<<20 {
		ev.buf = nil
	}
	clear(ev.b64)
	ev.b64 = ev.b64[:0]
	if cap(ev.b64) > 1<<20 {
		ev.b64 = nil
	}
	clear(ev.b64join)
	ev.b64join = ev.b64join[:0]
	clear(ev.vis)
	ev.vis = ev.vis[:0]
	if cap(ev.vis) > 1<<20 {
		ev.vis = nil
	}
	e.evals.Put(ev)
}

// ParseDeclared splits an x-fulcrum-data-class header value ("phi, pci")
// into lower-case class names, dropping empty and malformed ones.
func ParseDeclared(header string) []string {
	var out []string
	for f := range strings.SplitSeq(header, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" || len(f) > 64 {
			continue
		}
		ok := true
		for k := 0; k < len(f); k++ {
			c := f[k]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				ok = false
				break
			}
		}
		if ok && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// evaluator accumulates one request's findings.
type evaluator struct {
	e *Engine
	p *compiled
	// visitFn is visitBody as a jsonscan.Visitor, scanning when scanOn.
	visitFn jsonscan.Visitor
	scanOn  bool
	counts  [12]ClassCount
	nc      int
	more    []ClassCount // beyond counts
	values  []found      // for classes whose rule is redact
	spans   [16]detect.Span
	buf     []byte
	norm    normalizer
	// fixed are classes found where they cannot be redacted (content
	// kinds, opaque texts).
	fixed []string
	names []string
	kbuf  []byte
	// tail is the compact end of the last prose text of a body, head
	// the compact start of the next, join the scratch of their seam and
	// piece that of a tail (see seam).
	tail, head, join, piece []byte
	// taken are the placeholders the request's own texts hold.
	taken []string
	// b64 is the scratch of a decoded base64 run, b64join that of a run
	// joined across a seam and vis that of a text without its invisible
	// characters.
	b64, b64join, vis []byte
	// hex is the scratch of a decoded hex run, spell the spelled digits
	// read so far (hex.go).
	hex   []byte
	spell spelling
	// crossing holds a seam's candidate split values (see scanSeam).
	crossing []seamHit
	// seamLeft is how many more bytes the seams may read with windows
	// widened to whole tokens (see seam).
	seamLeft int
}

type found struct{ class, value string }

func (ev *evaluator) scan(text string) {
	if text == "" || ev.p.quiet[text] {
		return
	}
	if strings.IndexByte(text, '\\') >= 0 {
		// Scan JSON string literals unescaped, so "\u0040" cannot hide
		// an '@'.
		ev.buf = unescapeJSONish(ev.buf[:0], text)
		// A view, as kbuf's is (visit): nothing below writes buf.
		text = unsafe.String(unsafe.SliceData(ev.buf), len(ev.buf))
	}
	ev.notePlaceholders(text)
	ev.scanNormal(text, false)
	ev.scanBase64(text)
}

// opaque scans a text that will not be rewritten.
func (ev *evaluator) opaque(text string) {
	ev.notePlaceholders(text)
	ev.scanNormal(text, true)
}

// scanNormal scans the normalised form of src and records what it finds,
// each value as src writes it (a copy: src may be a view of a buffer).
// Classes found in a fixed text are marked as not redactable.
func (ev *evaluator) scanNormal(src string, fixed bool) {
	t := src
	normalized := needsNormalizing(src)
	if normalized {
		t = ev.norm.normalize(src)
	}
	spans := ev.e.scanner.Scan(t, ev.p.mask, ev.spans[:0])
	for _, s := range spans {
		ev.count(s.Class, 1)
		if fixed {
			ev.fix(s.Class)
			continue
		}
		if ev.p.rule(s.Class).action == ActionRedact {
			start, end := s.Start, s.End
			if normalized {
				start, end = ev.norm.span(src, start, end)
			}
			ev.values = append(ev.values, found{class: s.Class, value: strings.Clone(src[start:end])})
		}
	}
}

// kind records a content kind: a class that cannot be redacted.
func (ev *evaluator) kind(k string) {
	ev.count(k, 1)
	ev.fix(k)
}

func (ev *evaluator) fix(class string) {
	if !slices.Contains(ev.fixed, class) {
		ev.fixed = append(ev.fixed, class)
	}
}

func (ev *evaluator) count(class string, n int) {
	for k := 0; k < ev.nc; k++ {
		if ev.counts[k].Class == class {
			ev.counts[k].Count += n
			return
		}
	}
	for k := range ev.more {
		if ev.more[k].Class == class {
			ev.more[k].Count += n
			return
		}
	}
	if ev.nc < len(ev.counts) {
		ev.counts[ev.nc] = ClassCount{Class: class, Count: n}
		ev.nc++
		return
	}
	ev.more = append(ev.more, ClassCount{Class: class, Count: n})
}

// Find returns the values the default policy's detectors find in text,
// after the same normalisation requests get, with spans in text's own
// bytes (for tests, corpora and tools).
func (e *Engine) Find(text string) []detect.Span {
	var n normalizer
	t := text
	normalized := needsNormalizing(text)
	if normalized {
		t = n.normalize(text)
	}
	spans := e.scanner.Scan(t, e.def.mask|e.scanner.AllCustom(), nil)
	if normalized {
		for i := range spans {
			spans[i].Start, spans[i].End = n.span(text, spans[i].Start, spans[i].End)
		}
	}
	return spans
}
