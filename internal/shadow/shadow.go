// Package shadow is shadow evaluation on live traffic: a sample of the
// requests for a model or route is, after its live answer is complete,
// sent again to candidate models off the request path, and each pair of
// answers is compared (eval assertions, optionally a judge). The results
// feed `fulcrum shadow report`, `fulcrum advise --measured` and
// `fulcrum route-train`.
//
// The request path does two cheap things (gateway.Shadower): Sample, a
// map look-up, the rule's filters and one random number; and Offer, a
// non-blocking send on a bounded queue (a full queue drops the sample and
// counts it). Everything else runs on the engine's workers.
//
// A shadow call is an upstream call made for the client request, so it
// obeys everything the live one does: it goes through router.Execute with
// the request's policy clearance (a candidate the verdict does not permit
// is never called: a sensitive request under self_hosted_only is shadowed
// only to self-hosted candidates), it sends the request as policy cleared
// it (redacted when the verdict redacts), and its cost is reserved against
// the request's budgets before the call and settled after it (a shadow that
// the budget cannot cover is skipped, never overspent). Each call is
// priced and recorded like an attempt of the request (usage and audit
// rows, attempt numbers below zero) and the comparison is stored without
// any text.
package shadow

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Rule is one model's or route's shadow configuration.
type Rule struct {
	// Name is the model or route whose requests are sampled.
	Name       string
	Candidates []string
	// SampleRate is the share of matching requests shadowed, in (0, 1].
	SampleRate float64
	// Keys, Teams and DataClasses restrict sampling when not empty
	// (DataClasses: "none" matches a request without a class).
	Keys, Teams, DataClasses []string
	// Judge, when set, is asked which answer is better.
	Judge string
	// Compare is the comparison method (config.Compare*); "" is auto.
	Compare string
	// RecordPrompts stores the request's last user message (as policy
	// cleared it) with each comparison of a request without data classes.
	RecordPrompts bool
}

// Budget reserves a shadow call's worst case against the budgets of the
// request's caller before the call; the hold is settled with what the
// call cost.
type Budget interface {
	Reserve(ctx context.Context, c *gateway.Caller, plan *router.Plan, clr policy.Clearance, req *llm.ChatRequest) (Hold, error)
}

// Hold is a budget reservation; Done settles it exactly once.
type Hold interface {
	Done(s gateway.Spend)
}

// Sink stores comparisons (store.Shadows).
type Sink interface {
	InsertShadow(ctx context.Context, rows []store.ShadowResult) error
}

// Options configure an Engine. Zero fields take the defaults noted.
type Options struct {
	// Router resolves candidates and judges. Required.
	Router *router.Router
	Rules  []Rule
	// QueueSize bounds the samples waiting for a worker. Default 256.
	QueueSize int
	// Workers is how many samples are shadowed at once. Default 4.
	Workers int
	// Timeout bounds one candidate's call (and one judge's). Default 2m.
	Timeout time.Duration
	// Pricer prices each shadow and judge call; nil prices at 0.
	Pricer gateway.Pricer
	// Observer records each call as an attempt of the request (usage and
	// audit); nil records none.
	Observer gateway.Observer
	// Budget, when set, reserves and settles each call against the
	// request's budgets.
	Budget Budget
	// Sink stores the comparisons; nil keeps only the metrics.
	Sink Sink
	// StoreInterval is how long finished comparisons wait to be stored
	// together, in one InsertShadow (one transaction): a row alone costs a
	// transaction, most of a sample's CPU when the candidate is fast.
	// Default 100ms; Close and Wait still see every row stored.
	StoreInterval time.Duration
	// Clear returns the clearance of a call for the request to model (a
	// candidate or the judge): the request's verdict decided again with
	// that model's data policies too, so a candidate or judge whose own
	// policy is stricter than the live model's gets only what it allows.
	// Nil: the request's clearance.
	Clear func(v gateway.Verdict, c *gateway.Caller, model string) policy.Clearance
	// Estimate counts tokens when a candidate reports no usage.
	Estimate func(req *llm.ChatRequest, output string) *llm.Usage
	Logger   *slog.Logger
	// Now and Rand are injected for tests (Rand returns [0, 1)).
	Now  func() time.Time
	Rand func() float64
}

// job is one sampled request waiting for a worker.
type job struct {
	rule *compiled
	req  *gateway.ShadowRequest
}

type compiled struct {
	Rule
	keys, teams, classes map[string]bool
	// sampled is the rule's fulcrum_shadow_sampled_total series, resolved
	// once: Sample runs on every request of the model.
	sampled prometheus.Counter
}

// Engine samples requests and runs their shadow calls. It implements
// gateway.Shadower.
type Engine struct {
	opts  Options
	rules map[string]*compiled
	queue chan job
	log   *slog.Logger
	m     *metrics

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	pending atomic.Int64 // queued, running or unstored jobs
	// writes carries finished samples' rows to the writer (made by Start).
	writes     chan sampleRows
	writerDone chan struct{}
	droppedN   atomic.Int64
	closed     atomic.Bool
}

var _ gateway.Shadower = (*Engine)(nil)

// New builds an engine; Start runs its workers.
func New(o Options) *Engine {
	if o.QueueSize <= 0 {
		o.QueueSize = 256
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.StoreInterval <= 0 {
		o.StoreInterval = 100 * time.Millisecond
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{opts: o, rules: map[string]*compiled{}, queue: make(chan job, o.QueueSize), log: o.Logger, m: newMetrics()}
	for _, r := range o.Rules {
		c := &compiled{Rule: r, keys: set(r.Keys), teams: set(r.Teams), classes: set(r.DataClasses),
			sampled: e.m.sampled.WithLabelValues(r.Name)}
		e.rules[r.Name] = c
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

func set(v []string) map[string]bool {
	if len(v) == 0 {
		return nil
	}
	m := make(map[string]bool, len(v))
	for _, s := range v {
		m[s] = true
	}
	return m
}

// Start runs the workers until Close.
func (e *Engine) Start() {
	if e.opts.Sink != nil {
		e.writes, e.writerDone = make(chan sampleRows, e.opts.Workers), make(chan struct{})
		go e.write()
	}
	for range e.opts.Workers {
		e.wg.Add(1)
		go e.work()
	}
}

// Close stops the workers: calls in flight are cancelled, samples still
// queued are dropped (and counted).
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	e.cancel()
	e.wg.Wait()
	if e.writes != nil {
		close(e.writes) // the writer stores what it holds, then ends
		<-e.writerDone
	}
	for {
		select {
		case <-e.queue:
			e.drop()
			e.pending.Add(-1)
		default:
			return nil
		}
	}
}

// Wait blocks until no sample is queued or being shadowed, or ctx ends
// (for tests and tools).
func (e *Engine) Wait(ctx context.Context) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for e.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Collector returns the engine's Prometheus metrics.
func (e *Engine) Collector() prometheus.Collector { return e.m }

// Sample implements gateway.Shadower.
func (e *Engine) Sample(model string, c *gateway.Caller, v gateway.Verdict, declared []string) bool {
	r := e.rules[model]
	if r == nil || !r.matches(c, v) {
		return false
	}
	if e.opts.Rand() >= r.SampleRate {
		return false
	}
	r.sampled.Inc()
	return true
}

// matches applies the rule's key, team and data-class filters.
func (r *compiled) matches(c *gateway.Caller, v gateway.Verdict) bool {
	if r.keys != nil && (c == nil || !r.keys[c.KeyID]) {
		return false
	}
	if r.teams != nil && (c == nil || !r.teams[c.Team]) {
		return false
	}
	if r.classes != nil {
		classes := ""
		if v != nil {
			classes, _ = v.Header()
		}
		if classes == "" {
			return r.classes["none"]
		}
		for cl := range strings.SplitSeq(classes, ",") {
			if r.classes[cl] {
				return true
			}
		}
		return false
	}
	return true
}

// Offer implements gateway.Shadower: it never blocks; a full queue drops
// the sample and counts it.
func (e *Engine) Offer(r *gateway.ShadowRequest) {
	rule := e.rules[r.Model]
	if rule == nil || e.closed.Load() {
		return
	}
	e.pending.Add(1)
	select {
	case e.queue <- job{rule: rule, req: r}:
	default:
		e.pending.Add(-1)
		e.drop()
	}
}

func (e *Engine) work() {
	defer e.wg.Done()
	for {
		select {
		case <-e.ctx.Done():
			return
		case j := <-e.queue:
			if rows := e.run(e.ctx, j); len(rows) > 0 && e.writes != nil {
				e.writes <- sampleRows{requestID: j.req.RequestID, rows: rows} // the writer ends the job
				continue
			}
			e.pending.Add(-1)
		}
	}
}

// run shadows one sampled request to each of its rule's candidates and
// returns the rows to store.
func (e *Engine) run(ctx context.Context, j job) (rows []store.ShadowResult) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("shadow: panic", "request_id", j.req.RequestID, "panic", p)
		}
	}()
	for i, cand := range j.rule.Candidates {
		row, ok := e.shadowOne(ctx, j, i, cand)
		if ok {
			rows = append(rows, row)
			e.m.compared.WithLabelValues(cand, row.Verdict).Inc()
			if row.Judge != "" {
				e.m.judged.WithLabelValues(cand, row.Judge).Inc()
			}
		}
	}
	return rows
}

// sampleRows are one sample's comparisons, waiting for the writer.
type sampleRows struct {
	requestID string
	rows      []store.ShadowResult
}

// maxStoreBatch bounds the rows stored in one transaction.
const maxStoreBatch = 256

// write stores finished samples' rows: it takes the first, collects what
// else arrives within StoreInterval (up to maxStoreBatch rows) and stores
// them in one InsertShadow, then ends those jobs (Wait sees them done only
// once stored). It returns when writes is closed, after storing the rest.
func (e *Engine) write() {
	defer close(e.writerDone)
	var (
		batch []store.ShadowResult
		ids   []string
	)
	flush := func() {
		if len(ids) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := e.opts.Sink.InsertShadow(ctx, batch); err != nil {
			e.log.Error("shadow: results not stored", "request_ids", ids, "err", err)
		}
		cancel()
		e.pending.Add(-int64(len(ids)))
		batch, ids = nil, nil
	}
	for first := range e.writes {
		batch, ids = append(batch, first.rows...), append(ids, first.requestID)
		linger := time.NewTimer(e.opts.StoreInterval)
	collect:
		for len(batch) < maxStoreBatch {
			select {
			case r, ok := <-e.writes:
				if !ok {
					break collect
				}
				batch, ids = append(batch, r.rows...), append(ids, r.requestID)
			case <-linger.C:
				break collect
			}
		}
		linger.Stop()
		flush()
	}
}

func (e *Engine) drop() {
	e.droppedN.Add(1)
	e.m.dropped.Inc()
}

// permitted reports whether the clearance permits any of plan's targets.
func permitted(plan *router.Plan, clr policy.Clearance) bool {
	for _, t := range plan.Targets() {
		if clr.Permits(t.Provider.Info()) {
			return true
		}
	}
	return false
}

// shadowOne calls one candidate, compares, and asks the judge if any. It
// returns false when the candidate was skipped (not permitted, budget, not
// a chat model).
func (e *Engine) shadowOne(ctx context.Context, j job, i int, cand string) (store.ShadowResult, bool) {
	r := j.req
	plan, err := e.opts.Router.Resolve(cand)
	if err != nil {
		e.m.skipped.WithLabelValues(cand, "unknown").Inc()
		return store.ShadowResult{}, false
	}
	plan = plan.For(r.Request)
	clr := e.clearance(r, cand)
	if !permitted(plan, clr) {
		// What policy keeps from a provider never reaches it, not even
		// as a shadow.
		e.m.skipped.WithLabelValues(cand, "policy").Inc()
		return store.ShadowResult{}, false
	}
	var spend gateway.Spend
	var hold Hold
	if e.opts.Budget != nil && r.Caller != nil {
		h, err := e.opts.Budget.Reserve(ctx, r.Caller, plan, clr, r.Request)
		if err != nil {
			e.m.skipped.WithLabelValues(cand, "budget").Inc()
			return store.ShadowResult{}, false
		}
		hold = h
		defer func() { hold.Done(spend) }()
	}
	row := e.baseRow(j, cand)
	call := e.call(ctx, plan, r, clr, cand, -(1 + 2*i), r.Request, &spend)
	row.CandidateLatencyMS = call.latency.Milliseconds()
	if call.target != nil {
		info := call.target.Provider.Info()
		row.CandidateProvider, row.CandidateHosting = info.Name, string(info.Hosting)
	}
	row.CandidateCostNanos = call.cost
	if call.usage != nil {
		row.CandInputTokens, row.CandOutputTokens = call.usage.InputTokens, call.usage.OutputTokens
	}
	if call.err != nil {
		if errors.Is(call.err, router.ErrNoPermittedTarget) {
			e.m.skipped.WithLabelValues(cand, "policy").Inc()
			return store.ShadowResult{}, false
		}
		e.m.errors.WithLabelValues(cand).Inc()
		row.Verdict, row.ErrorCode = VerdictError, errorCode(call.err)
		return row, true
	}
	live := r.Response
	if live == nil && r.Decode != nil {
		if live, err = r.Decode(r.Raw); err != nil {
			live = nil
		}
	}
	liveText, candText := AnswerText(live), AnswerText(call.resp)
	c := Compare(j.rule.Compare, liveText, candText)
	row.Method, row.Detail = c.Method, c.Detail
	row.Verdict = VerdictDisagree
	if c.Agree {
		row.Verdict = VerdictAgree
	}
	if j.rule.Judge != "" {
		row.JudgeModel = j.rule.Judge
		row.Judge, row.JudgeCostNanos = e.judge(ctx, j, i, liveText, candText, &spend)
	}
	return row, true
}

// baseRow fills what is known of the live call.
func (e *Engine) baseRow(j job, cand string) store.ShadowResult {
	r := j.req
	row := store.ShadowResult{
		Time: r.Time, RequestID: r.RequestID, Route: r.Model, Candidate: cand,
		LiveLatencyMS: r.Latency.Milliseconds(), LiveCostNanos: r.CostNanos, SampleRate: j.rule.SampleRate,
	}
	if r.Caller != nil {
		row.KeyID, row.Team = r.Caller.KeyID, r.Caller.Team
	}
	if r.Served != nil {
		info := r.Served.Provider.Info()
		row.Live, row.LiveProvider, row.LiveHosting = r.Served.Model, info.Name, string(info.Hosting)
	}
	if r.Usage != nil {
		row.LiveInputTokens, row.LiveOutputTokens = r.Usage.InputTokens, r.Usage.OutputTokens
	}
	if r.Verdict != nil {
		classes, action := r.Verdict.Header()
		if classes != "" {
			row.DataClasses = strings.Split(classes, ",")
		}
		row.PolicyAction = action
	}
	if j.rule.RecordPrompts && len(row.DataClasses) == 0 && r.Request != nil {
		row.Prompt = router.PromptText(r.Request)
	}
	return row
}

func errorCode(err error) string {
	e := llm.AsError(err)
	if e.Code != "" {
		return e.Code
	}
	return e.Type
}

// Verdicts of a comparison.
const (
	VerdictAgree    = "agree"
	VerdictDisagree = "disagree"
	VerdictError    = "error"
)

// callResult is one shadow or judge call through the router.
type callResult struct {
	resp    *llm.ChatResponse
	target  *router.Target
	usage   *llm.Usage
	latency time.Duration
	cost    int64
	err     error
}

// call sends req to plan's permitted targets with the request's
// clearance, non-streaming, recording and pricing every attempt as attempt
// n of the request, and adds the cost to spend.
// clearance is the clearance of a call for r to model (Options.Clear).
func (e *Engine) clearance(r *gateway.ShadowRequest, model string) policy.Clearance {
	if e.opts.Clear == nil || r.Verdict == nil {
		return r.Clearance
	}
	return e.opts.Clear(r.Verdict, r.Caller, model)
}

func (e *Engine) call(ctx context.Context, plan *router.Plan, r *gateway.ShadowRequest, clr policy.Clearance, name string, n int, req *llm.ChatRequest, spend *Spend) callResult {
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	if r.Caller != nil {
		ctx = router.WithTenant(ctx, r.Caller.KeyID)
	}
	var out callResult
	start := e.opts.Now()
	resp, t, err := router.Execute(ctx, plan, clr, func(ctx context.Context, t *router.Target, pm policy.Permit, _ int) (*llm.ChatResponse, error) {
		q := *req
		q.Model, q.Stream, q.IncludeUsage = t.Upstream, false, false
		astart := e.opts.Now()
		resp, err := t.Provider.Chat(ctx, pm, &q)
		var u *llm.Usage
		if err == nil {
			u = resp.Usage
			if u == nil {
				u = e.estimate(req, AnswerText(resp))
			}
		}
		out.cost += e.record(ctx, r, name, n, t, astart, u, err, spend)
		if err == nil {
			out.usage = u
		}
		return resp, err
	})
	out.resp, out.target, out.err = resp, t, err
	out.latency = e.opts.Now().Sub(start)
	return out
}

// Spend is what a sample's shadow and judge calls cost, settled against
// the request's budgets.
type Spend = gateway.Spend

// record prices one attempt, hands it to the observer as attempt n of the
// request (model "shadow:<candidate>") and adds it to spend.
func (e *Engine) record(ctx context.Context, r *gateway.ShadowRequest, name string, n int, t *router.Target, start time.Time, u *llm.Usage, err error, spend *Spend) int64 {
	info := t.Provider.Info()
	a := &gateway.Attempt{
		RequestID: r.RequestID, N: n, Time: start, Caller: r.Caller, RequestedModel: "shadow:" + name,
		Target: t, Info: info, Status: 200, Latency: e.opts.Now().Sub(start), Usage: u,
		Verdict: r.Verdict, Declared: r.Declared,
	}
	if err != nil {
		le := llm.AsError(err)
		a.Status, a.ErrCode = le.Status, errorCode(err)
		if ctx.Err() != nil {
			a.Status = 499
		}
	}
	if e.opts.Pricer != nil {
		a.CostNanos, a.ReferenceNanos = e.opts.Pricer.Price(info, t.Upstream, u)
	}
	if e.opts.Observer != nil {
		e.opts.Observer.Attempt(a)
	}
	if info.Hosting == provider.SelfHosted {
		spend.SelfHostedNanos += a.CostNanos
	} else {
		spend.ProprietaryNanos += a.CostNanos
	}
	if u != nil {
		spend.Tokens += u.Total()
	}
	return a.CostNanos
}

func (e *Engine) estimate(req *llm.ChatRequest, out string) *llm.Usage {
	if e.opts.Estimate != nil {
		return e.opts.Estimate(req, out)
	}
	var in int
	for i := range req.Messages {
		in += len(req.Messages[i].Text())
	}
	return &llm.Usage{InputTokens: int64(in+3) / 4, OutputTokens: int64(len(out)+3) / 4, Estimated: true}
}

// AnswerText is what an answer says: its text, then its tool calls as
// name(arguments), one a line.
func AnswerText(resp *llm.ChatResponse) string {
	if resp == nil || len(resp.Choices) == 0 {
		return ""
	}
	m := &resp.Choices[0].Message
	s := m.Text()
	for _, tc := range m.ToolCalls {
		s += "\n" + tc.Name + "(" + tc.Arguments + ")"
	}
	return s
}
