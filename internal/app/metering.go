package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/meter"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// pricer turns an attempt's usage into cost: catalogue prices for APIs,
// the GPU-hour model for self-hosted providers that configure one.
type pricer struct {
	cat        *meter.Catalogue
	selfHosted map[string]*meter.SelfHosted // by provider name
}

func newPricer(cfg *config.Config) (*pricer, error) {
	cat, err := meter.Embedded()
	if err != nil {
		return nil, fmt.Errorf("price catalogue: %w", err)
	}
	cat = cat.WithOverrides(meter.OverridesFromConfig(cfg.Models)...)
	p := &pricer{cat: cat, selfHosted: map[string]*meter.SelfHosted{}}
	for _, pc := range cfg.Providers {
		if pc.Cost == nil {
			continue
		}
		var ref *meter.Price
		for _, typ := range []string{config.TypeOpenAI, config.TypeAnthropic, config.TypeGemini} {
			if rp, ok := cat.Lookup(typ, pc.Cost.ReferenceModel); ok {
				ref = &rp
				break
			}
		}
		p.selfHosted[pc.Name] = meter.NewSelfHosted(*pc.Cost, ref, meter.SelfHostedOptions{
			Window:             cfg.Metering.SelfHosted.Window.D(),
			MinTokensPerSecond: cfg.Metering.SelfHosted.MinTokensPerSecond,
		})
	}
	return p, nil
}

// cost prices usage on t; reference is what a self-hosted answer would have
// cost on the reference proprietary model.
func (p *pricer) cost(info *provider.Info, upstream string, u *llm.Usage) (cost, reference meter.Nanos) {
	if u == nil {
		return 0, 0
	}
	if sh := p.selfHosted[info.Name]; sh != nil {
		return sh.Charge(*u)
	}
	price, ok := p.cat.Resolve(info.Name, info.Type, upstream)
	if !ok {
		return 0, 0
	}
	return meter.Cost(*u, price), 0
}

// worstCase is the most a request can cost on the given target: its
// prompt at the input price plus max_tokens (or a default) at the output
// price. Self-hosted targets with a cost model use its current price.
func (p *pricer) worstCase(info *provider.Info, upstream string, promptTokens, maxOutput int64) meter.Nanos {
	u := llm.Usage{InputTokens: promptTokens, OutputTokens: maxOutput}
	if sh := p.selfHosted[info.Name]; sh != nil {
		return meter.Cost(u, meter.Price{Output: sh.OutputPrice()})
	}
	price, ok := p.cat.Resolve(info.Name, info.Type, upstream)
	if !ok {
		return 0
	}
	return meter.Cost(u, price)
}

// recorder is the gateway's Observer: per upstream attempt a usage record,
// priced, and an audit row, journaled together in one line before the
// response's last bytes leave; per request that made no upstream call, an
// audit row alone.
type recorder struct {
	rec    *meter.Recorder
	prices *pricer
	log    *slog.Logger
	// called holds the ids of requests in flight that made an upstream
	// call, so Request knows whether their audit rows are written.
	called sync.Map
}

func (o *recorder) Attempt(a *gateway.Attempt) {
	cost, ref := o.prices.cost(a.Info, a.Target.Upstream, a.Usage)
	if a.Cached {
		// A cache hit costs nothing upstream; its reference cost is what
		// the original call cost, so savings reports count it.
		cost, ref = 0, meter.Nanos(a.SavedNanos)
	}
	a.CostNanos = int64(cost)
	if o.rec == nil {
		return
	}
	r := &meter.Record{
		Time:          a.Time,
		RequestID:     a.RequestID,
		Attempt:       a.N,
		Model:         a.RequestedModel,
		Provider:      a.Info.Name,
		UpstreamModel: a.Target.Upstream,
		Hosting:       string(a.Info.Hosting),
		Status:        a.Status,
		LatencyMS:     a.Latency.Milliseconds(),
		TTFTMS:        a.TTFT.Milliseconds(),
		CostNanos:     int64(cost),
		ErrorCode:     a.ErrCode,
	}
	r.ReferenceCostNanos = int64(ref)
	row := store.AuditRow{Time: a.Time, RequestID: a.RequestID, Action: "none",
		Chosen: a.Info.Name, ChosenHosting: string(a.Info.Hosting), Outcome: outcome(a.Status, a.ErrCode)}
	if a.Caller != nil {
		r.KeyID, r.Team = a.Caller.KeyID, a.Caller.Team
		row.KeyID = a.Caller.KeyID
	}
	if u := a.Usage; u != nil {
		r.InputTokens, r.OutputTokens = u.InputTokens, u.OutputTokens
		r.CachedTokens, r.CacheWriteTokens, r.ReasoningTokens = u.CacheReadTokens, u.CacheWriteTokens, u.ReasoningTokens
		r.Estimated = u.Estimated
	}
	if a.Verdict != nil {
		classes, action := a.Verdict.Header()
		if classes != "" {
			r.DataClasses = strings.Split(classes, ",")
		}
		r.PolicyAction = action
	}
	auditVerdict(&row, a.Verdict)
	if a.N > 0 {
		// Attempt 0 is a judge's call, reported from outside the request.
		o.called.Store(a.RequestID, struct{}{})
	}
	if err := o.rec.Log(r, &row); err != nil {
		o.log.Error("usage and audit records lost", "request_id", a.RequestID, "err", err)
	}
}

// Request writes the audit row of a request that made no upstream call
// (refused by policy, limits or validation, or no target available); the
// rows of the others were written with their attempts.
func (o *recorder) Request(r *gateway.RequestLog) {
	if _, called := o.called.LoadAndDelete(r.ID); called || o.rec == nil {
		return
	}
	row := store.AuditRow{Time: r.Time, RequestID: r.ID, Action: "none", Outcome: outcome(r.Status, r.ErrCode)}
	if r.Caller != nil {
		row.KeyID = r.Caller.KeyID
	}
	auditVerdict(&row, r.Verdict)
	for _, c := range r.Candidates {
		row.Candidates = append(row.Candidates, c.Name+":"+string(c.Hosting))
	}
	if err := o.rec.Log(nil, &row); err != nil {
		o.log.Error("audit record lost", "request_id", r.ID, "err", err)
	}
}

func outcome(status int, errCode string) string {
	s := strconv.Itoa(status)
	if errCode != "" {
		s += " " + errCode
	}
	return s
}

// auditVerdict puts a policy verdict's classes and action on row.
func auditVerdict(row *store.AuditRow, v gateway.Verdict) {
	if v != nil {
		row.Classes = audit.EncodeClasses(v.Classes)
		row.Action = v.Action.String()
	}
}

// estimator counts tokens with a real tokenizer when a provider reports none.
func estimator(req *llm.ChatRequest, output string) *llm.Usage {
	texts := make([]string, 0, len(req.Messages)+1)
	for i := range req.Messages {
		m := &req.Messages[i]
		texts = append(texts, m.Text())
		for _, tc := range m.ToolCalls {
			texts = append(texts, tc.Name, tc.Arguments)
		}
	}
	return &llm.Usage{
		InputTokens:  meter.EstimateTokens(req.Model, texts...),
		OutputTokens: meter.EstimateTokens(req.Model, output),
		Estimated:    true,
	}
}

// openStore opens (and migrates) the configured store.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	st, err := openStoreURL(ctx, cfg.Storage.URL, log)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return st, nil
}

func readiness(st store.Store) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := st.SchemaVersion(ctx)
		return err
	}
}

// PriceFunc prices usage of a configured model name (or, when cfg has no
// such model, a catalogue model name) in USD, for eval and advise reports.
// Self-hosted models with a GPU cost model are priced by it.
func PriceFunc(cfg *config.Config) (func(model string, u llm.Usage) (float64, bool), error) {
	p, err := newPricer(cfg)
	if err != nil {
		return nil, err
	}
	byName := map[string]config.Model{}
	for _, m := range cfg.Models {
		byName[m.Name] = m
	}
	return func(model string, u llm.Usage) (float64, bool) {
		if m, ok := byName[model]; ok {
			pc := cfg.ProviderByName(m.Provider)
			if pc == nil {
				return 0, false
			}
			if pc.Cost != nil {
				return 0, false // self-hosted cost models price by GPU time, not here
			}
			price, ok := p.cat.Resolve(pc.Name, pc.Type, m.Upstream)
			if !ok {
				return 0, false
			}
			return meter.Cost(u, price).USD(), true
		}
		for _, typ := range []string{config.TypeOpenAI, config.TypeAnthropic, config.TypeGemini} {
			if price, ok := p.cat.Lookup(typ, model); ok {
				return meter.Cost(u, price).USD(), true
			}
		}
		return 0, false
	}, nil
}
