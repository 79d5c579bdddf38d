package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// PriceFunc prices a call at catalogue prices; ok is false when the model
// has no price. The CLI wires the metering catalogue here.
type PriceFunc func(model string, u llm.Usage) (usd float64, ok bool)

// Options configure Run. Only Client is required.
type Options struct {
	// Client answers the calls: an *HTTPClient for a gateway or a
	// *ProviderClient for providers in-process.
	Client Client
	// Models overrides the suite's models when not empty.
	Models []string
	// Price prices calls at catalogue prices. Nil: only self-hosted cost
	// models (Costs, the suite's costs) price anything.
	Price PriceFunc
	// Costs adds or replaces the suite's self-hosted cost models. A cost
	// model for a model takes precedence over its catalogue price.
	Costs map[string]SelfHostedCost
	// CacheDir holds cached answers. Empty: no cache.
	CacheDir string
	// NoCache ignores cached answers (fresh answers are still written).
	NoCache bool
	// Concurrency overrides the suite's when positive.
	Concurrency int
	// Retries overrides the suite's when set (0: never retry).
	Retries *int
	// Progress receives progress output; nil for none. TTY draws a bar.
	Progress io.Writer
	TTY      bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Sleep waits between retries. Default: a timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Log receives warnings (never prompts or answers). Default: discard.
	Log *slog.Logger
}

type costInfo struct {
	source string
	note   string
	self   *SelfHostedCost
}

// runner is the state of one Run.
type runner struct {
	opts  Options
	suite *Suite
	cache *cache
	costs map[string]costInfo
	prog  *progress

	calls, hits atomic.Int64
	judgeMu     sync.Mutex // guards judgeCost
	judgeCost   float64

	answerersMu sync.Mutex // guards answerers
	answerers   map[string]*answerer
}

// answerer is what answers a model name behind a gateway, learnt from the
// run's first live answer (see AnswerIdentifier).
type answerer struct {
	mu    sync.Mutex // held while the first call is asked; guards the following fields
	known bool
	entry string // the gateway's listing of the model
	by    string // the model the first answer named
}

func (r *runner) answerer(model string) *answerer {
	r.answerersMu.Lock()
	defer r.answerersMu.Unlock()
	if r.answerers == nil {
		r.answerers = map[string]*answerer{}
	}
	a := r.answerers[model]
	if a == nil {
		a = &answerer{}
		r.answerers[model] = a
	}
	return a
}

// Run sends every case of the suite to every model and checks the answers.
// A failed call fails its case (the error is in the result); Run itself
// fails only on bad options or when ctx is cancelled, and then returns
// what was finished with the error.
func Run(ctx context.Context, s *Suite, opts Options) (*Report, error) {
	if opts.Client == nil {
		return nil, errors.New("eval: no client")
	}
	models := s.Models
	if len(opts.Models) > 0 {
		models = opts.Models
	}
	if len(models) == 0 {
		return nil, errors.New("eval: no models (set models in the suite or on the command line)")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	conc, retries := s.Concurrency, 2
	if s.Retries != nil {
		retries = *s.Retries
	}
	if opts.Concurrency > 0 {
		conc = opts.Concurrency
	}
	if opts.Retries != nil {
		retries = max(0, *opts.Retries)
	}
	opts.Retries = &retries
	r := &runner{opts: opts, suite: s, costs: map[string]costInfo{}}
	if opts.CacheDir != "" {
		r.cache = &cache{dir: opts.CacheDir}
	}
	for m, c := range s.Costs {
		r.addCost(m, c)
	}
	for m, c := range opts.Costs {
		r.addCost(m, c)
	}

	start := opts.Now()
	rep := &Report{Suite: s.Name, Description: s.Description, StartedAt: start.UTC()}
	for _, m := range models {
		rep.Models = append(rep.Models, ModelSummary{Model: m})
	}
	rep.Cases = make([]CaseResult, len(s.Cases))
	type job struct{ ci, mi int }
	jobs := make(chan job)
	r.prog = newProgress(opts.Progress, opts.TTY, len(s.Cases)*len(models), opts.Now)
	var wg sync.WaitGroup
	for range max(1, conc) {
		wg.Go(func() {
			for j := range jobs {
				rep.Cases[j.ci].Results[j.mi] = r.runCase(ctx, &s.Cases[j.ci], models[j.mi])
				r.prog.step()
			}
		})
	}
	for ci := range s.Cases {
		msgs, _ := s.messages(&s.Cases[ci]) // checked by ParseSuite
		rep.Cases[ci] = CaseResult{ID: s.Cases[ci].ID, Input: lastUser(msgs), Results: make([]Result, len(models))}
	}
feed:
	for ci := range s.Cases {
		for mi := range models {
			select {
			case jobs <- job{ci, mi}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	rep.DurationMs = ms(opts.Now().Sub(start))
	rep.Calls, rep.CacheHits = int(r.calls.Load()), int(r.hits.Load())
	if s.Judge != nil {
		rep.JudgeModel, rep.JudgeCostUSD = s.Judge.Model, r.judgeCost
	}
	rep.summarise(r.costs)
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("eval: %w", err)
	}
	return rep, nil
}

func (r *runner) addCost(model string, c SelfHostedCost) {
	note := c.Note
	if note == "" {
		note = fmt.Sprintf("self-hosted: $%.2f/GPU-h × %d GPU / %.0f output tok/s", c.GPUHourlyUSD, max(c.GPUs, 1), c.OutputTokensPerSecond)
		if c.PerMillionOutputUSD > 0 {
			note = fmt.Sprintf("self-hosted: $%.4f per million output tokens", c.PerMillionOutputUSD)
		}
	}
	r.costs[model] = costInfo{source: "self_hosted", note: note, self: &c}
}

// runCase calls one model on one case and checks the answer.
func (r *runner) runCase(ctx context.Context, c *Case, model string) Result {
	res := Result{Model: model}
	req, err := r.request(c, model)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	ans, err := r.call(ctx, req)
	if err != nil {
		res.Error = errorText(err)
		return res
	}
	res.Answer, res.LatencyMs, res.Cached = ans.Answer, ans.LatencyMs, ans.cached
	if ans.HasUsage {
		res.InputTokens, res.OutputTokens, res.TokensEstimated = ans.InputTokens, ans.OutputTokens, ans.Estimated
		res.CostUSD, res.CostKnown = r.price(model, llm.Usage{InputTokens: ans.InputTokens, OutputTokens: ans.OutputTokens})
	}
	res.Pass = true
	for _, a := range r.suite.assertions(c) {
		var ar AssertionResult
		if a.Type == "judge" {
			// The judge is called on behalf of this item: cleared with
			// what the item carried (see clearance.go).
			j := &judged{model: model, classes: ans.Classes}
			for _, m := range req.msgs {
				j.texts = append(j.texts, m.Content)
			}
			j.texts = append(j.texts, res.Answer)
			ar = r.judge(withJudged(ctx, j), &a, c, lastUser(req.msgs), res.Answer)
			if ar.Score == nil && res.JudgeError == "" {
				// A judge that failed or gave no score graded nothing:
				// the case is unmeasured, not wrong, and counts among
				// the errors (a broken judge scored every model 0% and
				// the run passed).
				res.JudgeError = ar.Detail
				if !strings.HasPrefix(res.JudgeError, "judge") {
					res.JudgeError = "judge: " + res.JudgeError
				}
			}
		} else {
			ar = a.check(&res, c.Vars)
		}
		res.Assertions = append(res.Assertions, ar)
		res.Pass = res.Pass && ar.Pass
	}
	return res
}

// price is the cost of usage on model: the self-hosted cost model when
// there is one, else the catalogue price.
func (r *runner) price(model string, u llm.Usage) (float64, bool) {
	if ci, ok := r.costs[model]; ok && ci.self != nil {
		if pm := ci.self.PerMillionOutput(); pm > 0 {
			return float64(u.OutputTokens) * pm / 1e6, true
		}
	}
	if r.opts.Price != nil {
		if usd, ok := r.opts.Price(model, u); ok {
			return usd, true
		}
	}
	return 0, false
}

type callRequest struct {
	*llm.ChatRequest
	msgs []MessageTemplate
}

func (r *runner) request(c *Case, model string) (callRequest, error) {
	msgs, err := r.suite.messages(c)
	if err != nil {
		return callRequest{}, err
	}
	req := &llm.ChatRequest{Model: model, MaxTokens: r.suite.MaxTokens, Temperature: r.suite.Temperature}
	for _, m := range msgs {
		req.Messages = append(req.Messages, llm.TextMessage(llm.Role(m.Role), m.Content))
	}
	return callRequest{ChatRequest: req, msgs: msgs}, nil
}

type answer struct {
	cacheEntry
	cached bool
}

// call answers req from the cache or the client, retrying transient
// failures, and caches a fresh answer.
func (r *runner) call(ctx context.Context, req callRequest) (*answer, error) {
	identity := "model=" + req.Model
	if id, ok := r.opts.Client.(Identifier); ok {
		identity = id.Identity(req.Model)
	}
	keyFor := func(string) string { return cacheKey(identity, req.ChatRequest) }
	if ai, ok := r.opts.Client.(AnswerIdentifier); ok && r.cache != nil {
		// Behind a gateway the name may have been repointed since the
		// answers were cached: the first call of each model in the run
		// is asked live, and every answer is keyed on the model it came
		// from (TestGatewayCacheFollowsRepointedAlias).
		a := r.answerer(req.Model)
		a.mu.Lock()
		if !a.known {
			defer a.mu.Unlock()
			entry := ai.ModelEntry(ctx, req.Model)
			ans, err := r.ask(ctx, req, func(by string) string {
				return cacheKey(identity+"\nentry="+entry+"\nanswered_by="+by, req.ChatRequest)
			})
			if err == nil {
				a.known, a.entry, a.by = true, entry, ans.AnsweredBy
			}
			return ans, err
		}
		entry, by := a.entry, a.by
		a.mu.Unlock()
		keyFor = func(got string) string {
			return cacheKey(identity+"\nentry="+entry+"\nanswered_by="+got, req.ChatRequest)
		}
		if r.opts.NoCache {
			return r.ask(ctx, req, keyFor)
		}
		if e, ok := r.cache.get(keyFor(by)); ok {
			r.hits.Add(1)
			return &answer{cacheEntry: *e, cached: true}, nil
		}
		return r.ask(ctx, req, keyFor)
	}
	if r.cache != nil && !r.opts.NoCache {
		if e, ok := r.cache.get(keyFor("")); ok {
			r.hits.Add(1)
			return &answer{cacheEntry: *e, cached: true}, nil
		}
	}
	return r.ask(ctx, req, keyFor)
}

// ask calls the client for req, retrying transient failures, and caches
// the answer under keyFor(the model the answer names).
func (r *runner) ask(ctx context.Context, req callRequest, keyFor func(answeredBy string) string) (*answer, error) {
	var resp *llm.ChatResponse
	var err error
	var took time.Duration
	var classes []string
	ctx = withClassSink(ctx, &classes)
	for attempt := 0; ; attempt++ {
		r.calls.Add(1)
		t0 := r.opts.Now()
		resp, err = r.opts.Client.Chat(ctx, req.ChatRequest)
		took = r.opts.Now().Sub(t0)
		if err == nil || attempt >= *r.opts.Retries || !retryable(err) || ctx.Err() != nil {
			break
		}
		if serr := r.opts.Sleep(ctx, backoff(err, attempt)); serr != nil {
			return nil, serr
		}
	}
	if err != nil {
		return nil, err
	}
	if len(resp.Choices) == 0 {
		return nil, errors.New("the answer has no choices")
	}
	e := cacheEntry{
		Model:        req.Model,
		AnsweredBy:   resp.Model,
		Answer:       resp.Choices[0].Message.Text(),
		FinishReason: resp.Choices[0].FinishReason,
		LatencyMs:    ms(took),
		Classes:      classes,
	}
	if u := resp.Usage; u != nil {
		e.HasUsage, e.InputTokens, e.OutputTokens, e.Estimated = true, u.InputTokens, u.OutputTokens, u.Estimated
	}
	if r.cache != nil {
		if err := r.cache.put(keyFor(resp.Model), &e); err != nil {
			r.opts.Log.Warn("eval: could not cache an answer", "err", err)
		}
	}
	return &answer{cacheEntry: e}, nil
}

// retryable reports whether a failure may pass on a retry: rate limits,
// timeouts, server errors and failures without a status (network).
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var e *llm.Error
	if !errors.As(err, &e) {
		return true
	}
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

// backoff is Retry-After when the upstream sent one (at most 30s), else
// 500ms doubled per attempt.
func backoff(err error, attempt int) time.Duration {
	var e *llm.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return min(e.RetryAfter, 30*time.Second)
	}
	return 500 * time.Millisecond << min(attempt, 6)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errorText is what a failed call shows in the report: the client-safe
// message of an *llm.Error.
func errorText(err error) string {
	var e *llm.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%d %s", e.Status, e.Message)
	}
	return err.Error()
}

func lastUser(msgs []MessageTemplate) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].Content
		}
	}
	return ""
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
