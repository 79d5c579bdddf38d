package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"html/template"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/advise"
	"github.com/fulcrumhq/fulcrum/internal/eval"
	"github.com/fulcrumhq/fulcrum/internal/keys"
	"github.com/fulcrumhq/fulcrum/internal/shadow"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// window is how far back the overview, policy and routing pages look.
const window = 14 * 24 * time.Hour

// sampleSize is how many of the latest attempts are read for exact
// latency percentiles, distinct requests and fallbacks (a variable for
// tests).
var sampleSize = 20000

type overviewData struct {
	Requests, Attempts, InputTokens, OutputTokens, Errors int64
	CostNanos, SavingsNanos                               int64
	ErrorRate                                             float64
	// DayAttempts counts the last 24 hours' attempts (the summary).
	// Complete is true when the raw sample holds every one of them:
	// Requests (distinct ids) and P50, P99 are then the day's; else they
	// are the latest Sampled attempts', and BucketP50, BucketP99 (ms, -1:
	// above the last bound) the day's, from the rollups' histogram.
	DayAttempts             int64
	Complete                bool
	P50, P99                time.Duration
	BucketP50, BucketP99    int64
	Sampled                 int
	SpendChart, TokensChart template.HTML
	ByModel                 []store.UsageGroup
	// Attribution is spend by request tag and by end user (14 days), for
	// the tag keys seen in the last 24 hours' sample (at most maxTagKeys).
	Attribution []attribution
}

// attribution is one grouping of spend: by the values of a tag key, or
// by end user.
type attribution struct {
	Title  string
	ID     string
	Groups []store.UsageGroup
}

// maxTagKeys bounds the tag keys the overview groups by (and the queries
// it makes); maxAttributionRows the rows shown per grouping.
const (
	maxTagKeys         = 5
	maxAttributionRows = 10
)

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, p *page) error {
	ctx := r.Context()
	from := p.Now.Add(-window)
	days, err := h.o.Store.UsageSummary(ctx, store.UsageFilter{From: from}, []store.GroupBy{store.ByDay, store.ByHosting})
	if err != nil {
		return err
	}
	d := overviewData{}
	spend := newSeries(p.Now, 14)
	tokens := newSeries(p.Now, 14)
	for _, g := range days {
		d.Attempts += g.Requests
		d.InputTokens += g.InputTokens
		d.OutputTokens += g.OutputTokens
		d.CostNanos += g.CostNanos
		d.Errors += g.Errors
		if g.Keys[1] == "self_hosted" && g.ReferenceCostNanos > g.CostNanos {
			d.SavingsNanos += g.ReferenceCostNanos - g.CostNanos
		}
		spend.add(g.Keys[0], g.Keys[1], float64(g.CostNanos)/1e9)
		tokens.add(g.Keys[0], g.Keys[1], float64(g.InputTokens+g.OutputTokens))
	}
	if d.Attempts > 0 {
		d.ErrorRate = float64(d.Errors) / float64(d.Attempts)
	}
	d.SpendChart = stackedBars(spend, "USD", usdAxis)
	d.TokensChart = stackedBars(tokens, "tokens", numAxis)
	if d.ByModel, err = h.o.Store.UsageSummary(ctx, store.UsageFilter{From: from}, []store.GroupBy{store.ByModel}); err != nil {
		return err
	}
	// The last 24 hours: attempts and latency percentiles from the
	// summary (rollups: every attempt, at any volume); requests (distinct
	// ids) and exact percentiles from the raw rows when they all fit in a
	// sample, else from the latest sampleSize attempts.
	day := store.UsageFilter{From: p.Now.Add(-24 * time.Hour)}
	sum, err := h.o.Store.UsageSummary(ctx, day, nil)
	if err != nil {
		return err
	}
	if len(sum) > 0 {
		d.DayAttempts = sum[0].Requests
	}
	day.Limit, day.Newest = sampleSize, true
	recs, err := h.o.Store.Usage(ctx, day)
	if err != nil {
		return err
	}
	d.Complete = int64(len(recs)) >= d.DayAttempts
	var lat []int64
	reqs := map[string]bool{}
	tagKeys := map[string]bool{}
	users := false
	for _, rc := range recs {
		lat = append(lat, rc.LatencyMS)
		reqs[rc.RequestID] = true
		for k := range rc.Tags {
			tagKeys[k] = true
		}
		users = users || rc.EndUser != ""
	}
	if d.Attribution, err = h.attribution(ctx, from, tagKeys, users); err != nil {
		return err
	}
	d.Requests = int64(len(reqs))
	d.Sampled = len(lat)
	if len(lat) > 0 {
		slices.Sort(lat)
		d.P50 = time.Duration(lat[(len(lat)-1)*50/100]) * time.Millisecond
		d.P99 = time.Duration(lat[(len(lat)-1)*99/100]) * time.Millisecond
	}
	if !d.Complete && len(sum) > 0 {
		// Every attempt's bucket: the percentile is its bucket's upper
		// bound (-1: above the last).
		d.BucketP50, d.BucketP99 = sum[0].P50MS, sum[0].P99MS
	}
	p.Title, p.Data = "Overview", d
	h.render(w, r, http.StatusOK, "overview", *p)
	return nil
}

// attribution groups the window's spend by each tag key (sorted, at most
// maxTagKeys) and by end user, the costliest first.
func (h *Handler) attribution(ctx context.Context, from time.Time, tagKeys map[string]bool, users bool) ([]attribution, error) {
	ks := make([]string, 0, len(tagKeys))
	for k := range tagKeys {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	ks = ks[:min(len(ks), maxTagKeys)]
	var out []attribution
	add := func(title, id string, by store.GroupBy) error {
		gs, err := h.o.Store.UsageSummary(ctx, store.UsageFilter{From: from}, []store.GroupBy{by})
		if err != nil {
			return err
		}
		slices.SortStableFunc(gs, func(a, b store.UsageGroup) int { return cmpInt64(b.CostNanos, a.CostNanos) })
		out = append(out, attribution{Title: title, ID: id, Groups: gs[:min(len(gs), maxAttributionRows)]})
		return nil
	}
	for _, k := range ks {
		if err := add("By tag "+k, "by-tag-"+k, store.ByTag(k)); err != nil {
			return nil, err
		}
	}
	if users {
		if err := add("By end user", "by-user", store.ByUser); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type countRow struct {
	Name  string
	Count int
}

type policyData struct {
	Rows                    int
	ByClass, ByAction       []countRow
	Refused, Redacted       int
	ClassChart, ActionChart template.HTML
	// Capped: Rows are the latest sampleSize decisions of the window.
	Capped       bool
	ChainRows    int
	ChainBad     int64
	ChainWhole   bool
	ChainErr     string
	ChainChecked bool
}

func (h *Handler) policy(w http.ResponseWriter, r *http.Request, p *page) error {
	ctx := r.Context()
	rows, err := h.o.Store.Audit(ctx, store.AuditFilter{From: p.Now.Add(-window), Limit: sampleSize, Newest: true})
	if err != nil {
		return err
	}
	d := policyData{Rows: len(rows), Capped: len(rows) == sampleSize}
	classes, actions := map[string]int{}, map[string]int{}
	for _, a := range rows {
		for _, c := range a.Classes {
			name, _, _ := strings.Cut(c, ":") // "email:2" -> "email"; the values themselves are never stored
			classes[name]++
		}
		actions[a.Action]++
		switch a.Action {
		case "block":
			d.Refused++
		case "redact":
			d.Redacted++
		}
	}
	d.ByClass, d.ByAction = sorted(classes), sorted(actions)
	d.ClassChart, d.ActionChart = hbars(d.ByClass), hbars(d.ByAction)
	if h.o.VerifyAudit != nil {
		d.ChainChecked = true
		d.ChainRows, d.ChainBad, d.ChainWhole, err = h.o.VerifyAudit(ctx)
		if err != nil {
			d.ChainErr = err.Error()
		}
	}
	p.Title, p.Data = "Policy", d
	h.render(w, r, http.StatusOK, "policy", *p)
	return nil
}

func sorted(m map[string]int) []countRow {
	out := make([]countRow, 0, len(m))
	for k, v := range m {
		out = append(out, countRow{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

type routingData struct {
	Targets   any
	Fallbacks int
	Retried   []countRow
	Sampled   int
	Spill     []spillRow
}

// spillRow is one capacity-limited provider's spillover since this
// replica started, from the gateway's own counters.
type spillRow struct {
	Provider                         string
	Spilled, CostUSD, Tokens, Queued float64
	Timeouts, QueueFull              float64
}

// spillRows reads the spillover and capacity counters (app/hybrid.go) by
// provider; nil when no provider has a capacity limit.
func spillRows(g prometheus.Gatherer) []spillRow {
	if g == nil {
		return nil
	}
	mfs, err := g.Gather()
	if err != nil {
		return nil
	}
	rows := map[string]*spillRow{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var prov, reason string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "provider":
					prov = l.GetValue()
				case "reason":
					reason = l.GetValue()
				}
			}
			row := func() *spillRow {
				if rows[prov] == nil {
					rows[prov] = &spillRow{Provider: prov}
				}
				return rows[prov]
			}
			v := m.GetCounter().GetValue()
			switch mf.GetName() {
			case "fulcrum_spillover_total":
				row().Spilled += v
			case "fulcrum_spillover_cost_usd_total":
				row().CostUSD += v
			case "fulcrum_spillover_tokens_total":
				row().Tokens += v
			case "fulcrum_capacity_queued_total":
				row().Queued += v
			case "fulcrum_capacity_rejected_total":
				if reason == "timeout" {
					row().Timeouts += v
				} else {
					row().QueueFull += v
				}
			}
		}
	}
	out := make([]spillRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b spillRow) int { return strings.Compare(a.Provider, b.Provider) })
	return out
}

func (h *Handler) routing(w http.ResponseWriter, r *http.Request, p *page) error {
	d := routingData{}
	if h.o.Health != nil {
		d.Targets = h.o.Health()
	}
	recs, err := h.o.Store.Usage(r.Context(), store.UsageFilter{From: p.Now.Add(-24 * time.Hour), Limit: sampleSize, Newest: true})
	if err != nil {
		return err
	}
	d.Sampled = len(recs)
	// A request with a second attempt fell back (or retried) from its
	// first target; count them by the target that served the fallback.
	by := map[string]int{}
	for _, rc := range recs {
		if rc.Attempt > 1 {
			d.Fallbacks++
			by[rc.Provider+" / "+rc.UpstreamModel]++
		}
	}
	d.Retried = sorted(by)
	d.Spill = spillRows(h.o.Metrics)
	p.Title, p.Data = "Routing", d
	h.render(w, r, http.StatusOK, "routing", *p)
	return nil
}

type keyRow struct {
	store.Key
	Revoked              bool
	SpentNanos, LimNanos int64
	Used                 float64
}

type keysData struct {
	Keys          []keyRow
	RateLimitHits float64
	NewSecret     string
	NewKeyName    string
	FormError     string
}

func (h *Handler) keysData(r *http.Request, now time.Time) (*keysData, error) {
	d := &keysData{RateLimitHits: h.counter("fulcrum_requests_total", "status", "429")}
	if h.o.Keys == nil {
		return d, nil
	}
	ks, err := h.o.Keys.List(r.Context())
	if err != nil {
		return nil, err
	}
	for i := len(ks) - 1; i >= 0; i-- { // newest first
		k := ks[i]
		row := keyRow{Key: k, Revoked: k.RevokedAt != nil}
		if h.o.Budgets != nil && k.BudgetNanos > 0 {
			states, err := h.o.Budgets.State(r.Context(), h.o.Budgets.KeyBudgets(&k))
			if err == nil && len(states) > 0 {
				row.SpentNanos, row.LimNanos = states[0].SpentNanos, states[0].Budget.LimitNanos
				row.Used = min(1, float64(row.SpentNanos)/float64(max(row.LimNanos, 1)))
			}
		}
		d.Keys = append(d.Keys, row)
	}
	return d, nil
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request, p *page) error {
	d, err := h.keysData(r, p.Now)
	if err != nil {
		return err
	}
	p.Title, p.Data = "Keys and budgets", d
	h.render(w, r, http.StatusOK, "keys", *p)
	return nil
}

// createKey creates a key and shows its secret once, on this response
// (no redirect: the secret must not land in a URL or be shown again).
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, p *page) error {
	if h.o.Keys == nil {
		return errors.New("keys are not available (no store)")
	}
	req := keys.CreateRequest{Name: r.PostFormValue("name"), Team: r.PostFormValue("team")}
	var formErr error
	if b := strings.TrimSpace(r.PostFormValue("budget_usd")); b != "" {
		req.BudgetNanos, formErr = parseUSD(b)
	}
	if b := strings.TrimSpace(r.PostFormValue("user_budget_usd")); b != "" && formErr == nil {
		req.UserBudgetNanos, formErr = parseUSD(b) // per day (keys.CreateRequest's default)
	}
	if v := strings.TrimSpace(r.PostFormValue("rpm")); v != "" && formErr == nil {
		req.RPM, formErr = strconv.ParseInt(v, 10, 64)
	}
	var secret string
	if formErr == nil {
		var k *store.Key
		k, secret, formErr = h.o.Keys.Create(r.Context(), req)
		if formErr == nil {
			h.o.Logger.Info("ui: key created", "key", k.ID)
		}
	}
	d, err := h.keysData(r, p.Now)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if formErr != nil {
		d.FormError, status = formErr.Error(), http.StatusBadRequest
	} else {
		d.NewSecret, d.NewKeyName = secret, req.Name
	}
	p.Title, p.Data = "Keys and budgets", d
	h.render(w, r, status, "keys", *p)
	return nil
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, p *page) error {
	if h.o.Keys == nil {
		return errors.New("keys are not available (no store)")
	}
	if _, err := h.o.Keys.Revoke(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/keys", http.StatusSeeOther)
	return nil
}

// parseUSD reads "12.50" as nanodollars, exactly (no float).
func parseUSD(s string) (int64, error) {
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "$"), ".")
	if len(frac) > 9 {
		return 0, fmt.Errorf("budget %q: at most 9 decimals", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 || w > 1_000_000_000 {
		return 0, fmt.Errorf("budget %q is not an amount in USD", s)
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt((frac + "000000000")[:9], 10, 64); err != nil || f < 0 {
			return 0, fmt.Errorf("budget %q is not an amount in USD", s)
		}
	}
	return w*1e9 + f, nil
}

// counter sums a counter of the gateway's metrics over series whose label
// name has value.
func (h *Handler) counter(metric, name, value string) float64 {
	if h.o.Metrics == nil {
		return 0
	}
	mfs, err := h.o.Metrics.Gather()
	if err != nil {
		return 0
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == name && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

type reportsData struct {
	Evals     []*eval.Report
	EvalErr   string
	HasAdvise bool
	Advise    *advise.Report
	AdviseErr string
	Shadow    *shadow.Report
	ShadowErr string
}

func (h *Handler) reports(w http.ResponseWriter, r *http.Request, p *page) error {
	d := reportsData{}
	if h.o.ReportsDir != "" {
		files, _ := filepath.Glob(filepath.Join(h.o.ReportsDir, "*.json"))
		for _, f := range files {
			rep, err := eval.ReadJSONFile(f)
			if err != nil {
				d.EvalErr = fmt.Sprintf("%s: %v", filepath.Base(f), err)
				continue
			}
			d.Evals = append(d.Evals, rep)
		}
	}
	if h.o.Advise != nil {
		d.HasAdvise = true
		rep, err := h.o.Advise(r.Context())
		if err != nil {
			d.AdviseErr = err.Error()
		}
		d.Advise = rep
	}
	if h.o.Shadow != nil {
		rep, err := h.o.Shadow(r.Context())
		if err != nil {
			d.ShadowErr = err.Error()
		} else if len(rep.Candidates) > 0 {
			d.Shadow = rep
		}
	}
	p.Title, p.Data = "Reports", d
	h.render(w, r, http.StatusOK, "reports", *p)
	return nil
}

// shadowReport serves the shadow HTML report (`fulcrum shadow report
// --html`: rates with intervals, charts) for the reports page's frame.
func (h *Handler) shadowReport(w http.ResponseWriter, r *http.Request, p *page) error {
	if h.o.Shadow == nil {
		http.Error(w, "this store keeps no shadow comparisons", http.StatusNotFound)
		return nil
	}
	rep, err := h.o.Shadow(r.Context())
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := shadow.WriteHTML(&b, rep); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
	return nil
}

// adviseReport serves the advise HTML report (with its cost-vs-volume
// chart) as advise renders it, for the reports page's frame.
func (h *Handler) adviseReport(w http.ResponseWriter, r *http.Request, p *page) error {
	if h.o.Advise == nil {
		http.Error(w, "no advise profile configured (ui.advise_profile)", http.StatusNotFound)
		return nil
	}
	rep, err := h.o.Advise(r.Context())
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := advise.WriteHTML(&b, rep); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
	return nil
}
