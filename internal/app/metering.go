package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/meter"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// pricer adapts meter.Pricer, the one home of pricing, to the gateway,
// the limiter and the router.
type pricer struct{ *meter.Pricer }

func newPricer(cfg *config.Config) (*pricer, error) {
	p, err := meter.NewPricer(cfg)
	if err != nil {
		return nil, err
	}
	return &pricer{p}, nil
}

// Price implements gateway.Pricer.
func (p *pricer) Price(info *provider.Info, upstream string, u *llm.Usage) (cost, reference int64) {
	c, r := p.Pricer.Price(info.Name, info.Type, upstream, u)
	return int64(c), int64(r)
}

// worstCase is the most a request can cost on the given target
// (meter.Pricer.WorstCase; maxTokens 0: the request set none).
func (p *pricer) worstCase(info *provider.Info, upstream string, promptTokens, maxTokens, choices int64) meter.Nanos {
	return p.WorstCase(info.Name, info.Type, upstream, promptTokens, maxTokens, choices)
}

// recorder is the gateway's Observer, a sink: per upstream attempt (priced
// by the gateway) a usage record and an audit row, journaled together in
// one line before the response's last bytes leave; per request that made
// no upstream call, an audit row alone.
type recorder struct {
	rec *meter.Recorder
	log *slog.Logger
	// called holds the ids of requests in flight that made an upstream
	// call, so Request knows whether their audit rows are written.
	called sync.Map
}

func (o *recorder) Attempt(a *gateway.Attempt) {
	ref := a.ReferenceNanos
	if a.Cached {
		// A cache hit costs nothing upstream (the gateway does not price
		// it); its reference cost is what the original call cost, so
		// savings reports count it.
		ref = a.SavedNanos
	}
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
		CostNanos:     a.CostNanos,
		ErrorCode:     a.ErrCode,
		Tags:          a.Tags,
		EndUser:       a.EndUser,
	}
	r.ReferenceCostNanos = ref
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

// openStore opens (and migrates) the configured store.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	st, err := openStoreURL(ctx, cfg.Storage.URL, log)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	if c, ok := st.(interface{ SetEndUsersPerDay(int) }); ok {
		c.SetEndUsersPerDay(cfg.Metering.Retention.RollupEndUsers)
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
			price, ok := p.Catalogue().Resolve(pc.Name, pc.Type, m.Upstream)
			if !ok {
				return 0, false
			}
			return meter.Cost(u, price).USD(), true
		}
		// A model no configured name matches is priced at its vendor's own
		// API: the four vendors Fulcrum has adapters for.
		for _, typ := range []string{config.TypeOpenAI, config.TypeAnthropic, config.TypeGemini, config.TypeMistral} {
			if price, ok := p.Catalogue().Lookup(typ, model); ok {
				return meter.Cost(u, price).USD(), true
			}
		}
		return 0, false
	}, nil
}

// commitMetrics time the recorder's commits to the store (one per batch,
// off the request path): a slow database shows here before it shows as
// a growing journal.
type commitMetrics struct {
	took   prometheus.Histogram
	failed prometheus.Counter
}

func newCommitMetrics() *commitMetrics {
	return &commitMetrics{
		took: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "fulcrum_record_commit_seconds",
			Help:    "Time of one commit of a batch of usage records and audit rows to the store.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fulcrum_record_commit_failures_total",
			Help: "Failed commits of record batches (each is retried; records stay in the journal).",
		}),
	}
}

func (m *commitMetrics) observe(_ int, took time.Duration, err error) {
	m.took.Observe(took.Seconds())
	if err != nil {
		m.failed.Inc()
	}
}
