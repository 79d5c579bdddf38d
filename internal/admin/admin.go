// Package admin serves the operator API under /admin/: list, create,
// revoke and rotate virtual keys, read budgets, read usage summaries
// (GET /admin/usage, grouped by tag, end user, model...), and read the savings ledger
// of the self-hosted providers. The gateway mounts it
// behind the master key; this package does no authentication of its own.
//
// Bodies are JSON; errors are OpenAI-style error objects
// ({"error": {"message", "type", "code", "param"}}). A key's secret appears
// only in the responses to create and rotate.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/keys"
	"github.com/fulcrumhq/fulcrum/internal/limits"
	"github.com/fulcrumhq/fulcrum/internal/savings"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Budgets is what the budget endpoint reads; *limits.Gate implements it.
type Budgets interface {
	KeyBudgets(k *store.Key) []limits.Budget
	TeamBudgets(team string) []limits.Budget
	// EndUserBudgets is empty when end-user budgets are off.
	EndUserBudgets(k *store.Key, user string) []limits.Budget
	State(ctx context.Context, budgets []limits.Budget) ([]limits.BudgetState, error)
}

// Ledger is what the savings endpoint reads.
type Ledger interface {
	Lines() []savings.Line
}

// Usage is what the usage endpoint reads; store.Store implements it.
type Usage interface {
	UsageSummary(ctx context.Context, f store.UsageFilter, by []store.GroupBy) ([]store.UsageGroup, error)
}

// Options configures New. Zero fields take the defaults noted.
type Options struct {
	Keys *keys.Service
	// Budgets serves GET /admin/budgets; nil answers 404 there.
	Budgets Budgets
	// Savings serves GET /admin/savings; nil answers 404 there.
	// *savings.Ledger implements it.
	Savings Ledger
	// Usage serves GET /admin/usage; nil answers 404 there.
	Usage  Usage
	Now    func() time.Time
	Logger *slog.Logger
}

// Handler is the admin API.
type Handler struct {
	o   Options
	mux *http.ServeMux
}

// New returns the admin handler. It serves paths starting with /admin/.
func New(o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{o: o, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /admin/keys", h.list)
	h.mux.HandleFunc("POST /admin/keys", h.create)
	h.mux.HandleFunc("GET /admin/keys/{id}", h.get)
	h.mux.HandleFunc("POST /admin/keys/{id}/revoke", h.revoke)
	h.mux.HandleFunc("POST /admin/keys/{id}/rotate", h.rotate)
	h.mux.HandleFunc("GET /admin/budgets", h.budgets)
	h.mux.HandleFunc("GET /admin/savings", h.savings)
	h.mux.HandleFunc("GET /admin/usage", h.usage)
	h.mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found_error", "unknown_url", "", "unknown admin endpoint "+r.Method+" "+r.URL.Path)
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// KeyView is a key as the API shows it.
type KeyView struct {
	Object string `json:"object"` // "key"
	ID     string `json:"id"`
	Name   string `json:"name"`
	Team   string `json:"team,omitempty"`
	Prefix string `json:"prefix"`
	// Status is active, revoked or expired.
	Status      string       `json:"status"`
	Models      []string     `json:"models,omitempty"`
	BudgetUSD   string       `json:"budget_usd,omitempty"`
	BudgetNanos int64        `json:"budget_nanos,omitempty"`
	Period      store.Period `json:"period,omitempty"`
	RPM         int64        `json:"rpm,omitempty"`
	TPM         int64        `json:"tpm,omitempty"`
	Created     time.Time    `json:"created"`
	RevokedAt   *time.Time   `json:"revoked_at,omitempty"`
	ExpiresAt   *time.Time   `json:"expires_at,omitempty"`
	// UserBudgetUSD is the key's end-user budget: what each of its end
	// users may spend per UserPeriod.
	UserBudgetUSD   string       `json:"user_budget_usd,omitempty"`
	UserBudgetNanos int64        `json:"user_budget_nanos,omitempty"`
	UserPeriod      store.Period `json:"user_period,omitempty"`
	// Secret is set only when the key is created or rotated.
	Secret string `json:"secret,omitempty"`
}

// View renders k at now.
func View(k *store.Key, now time.Time) KeyView {
	v := KeyView{Object: "key", ID: k.ID, Name: k.Name, Team: k.Team, Prefix: k.Prefix, Status: Status(k, now),
		Models: k.Models, BudgetNanos: k.BudgetNanos, Period: k.Period, RPM: k.RPM, TPM: k.TPM,
		Created: k.Created, RevokedAt: k.RevokedAt, ExpiresAt: k.ExpiresAt}
	if k.BudgetNanos > 0 {
		v.BudgetUSD = limits.FormatUSD(k.BudgetNanos)
	}
	if k.UserBudgetNanos > 0 {
		v.UserBudgetUSD, v.UserBudgetNanos, v.UserPeriod = limits.FormatUSD(k.UserBudgetNanos), k.UserBudgetNanos, k.UserPeriod
	}
	return v
}

// Status is "active", "revoked" or "expired".
func Status(k *store.Key, now time.Time) string {
	switch {
	case k.RevokedAt != nil && !now.Before(*k.RevokedAt):
		return "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	}
	return "active"
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	ks, err := h.o.Keys.List(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	now := h.o.Now()
	out := struct {
		Object string    `json:"object"`
		Data   []KeyView `json:"data"`
	}{Object: "list", Data: make([]KeyView, 0, len(ks))}
	for i := range ks {
		out.Data = append(out.Data, View(&ks[i], now))
	}
	writeJSON(w, http.StatusOK, out)
}

// CreateBody is the body of POST /admin/keys.
type CreateBody struct {
	Name   string   `json:"name"`
	Team   string   `json:"team"`
	Models []string `json:"models"`
	// BudgetUSD is a JSON number or string: 10, "10.00".
	BudgetUSD json.RawMessage `json:"budget_usd"`
	Period    string          `json:"period"`
	RPM       int64           `json:"rpm"`
	TPM       int64           `json:"tpm"`
	// Expires is a Go duration from now, e.g. "720h".
	Expires string `json:"expires"`
	// UserBudgetUSD (a JSON number or string) is what each end user of
	// the key may spend per UserPeriod (daily by default, weekly or
	// monthly).
	UserBudgetUSD json.RawMessage `json:"user_budget_usd"`
	UserPeriod    string          `json:"user_period"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	var b CreateBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "", "invalid JSON body: "+err.Error())
		return
	}
	req := keys.CreateRequest{Name: b.Name, Team: b.Team, Models: b.Models, Period: store.Period(b.Period), RPM: b.RPM, TPM: b.TPM}
	if len(b.BudgetUSD) > 0 && string(b.BudgetUSD) != "null" {
		n, err := config.ParseUSD(strings.Trim(string(b.BudgetUSD), `"`))
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", "budget_usd", err.Error())
			return
		}
		req.BudgetNanos = n
	}
	if len(b.UserBudgetUSD) > 0 && string(b.UserBudgetUSD) != "null" {
		n, err := config.ParseUSD(strings.Trim(string(b.UserBudgetUSD), `"`))
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", "user_budget_usd", err.Error())
			return
		}
		req.UserBudgetNanos = n
	}
	req.UserPeriod = store.Period(b.UserPeriod)
	if b.Expires != "" {
		d, err := time.ParseDuration(b.Expires)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", "expires", "expires must be a positive duration such as \"720h\"")
			return
		}
		req.ExpiresIn = d
	}
	k, secret, err := h.o.Keys.Create(r.Context(), req)
	if err != nil {
		h.fail(w, err)
		return
	}
	v := View(k, h.o.Now())
	v.Secret = secret
	writeJSON(w, http.StatusCreated, v)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	k, err := h.o.Keys.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, View(k, h.o.Now()))
}

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	k, err := h.o.Keys.Revoke(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, View(k, h.o.Now()))
}

func (h *Handler) rotate(w http.ResponseWriter, r *http.Request) {
	k, secret, err := h.o.Keys.Rotate(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	v := View(k, h.o.Now())
	v.Secret = secret
	writeJSON(w, http.StatusOK, v)
}

// BudgetView is one budget's current period.
type BudgetView struct {
	Period         store.Period `json:"period"`
	Hosting        string       `json:"hosting"`
	LimitUSD       string       `json:"limit_usd"`
	SpentUSD       string       `json:"spent_usd"`
	ReservedUSD    string       `json:"reserved_usd"`
	RemainingUSD   string       `json:"remaining_usd"`
	LimitNanos     int64        `json:"limit_nanos"`
	SpentNanos     int64        `json:"spent_nanos"`
	ReservedNanos  int64        `json:"reserved_nanos"`
	RemainingNanos int64        `json:"remaining_nanos"`
	PeriodStart    time.Time    `json:"period_start"`
	ResetsAt       *time.Time   `json:"resets_at,omitempty"`
}

// budgets serves GET /admin/budgets?scope=key:ID, scope=team:NAME or
// scope=user:KEYID:USER (the end user USER of key KEYID; USER is the id
// as the client sends it, and may itself hold ':').
func (h *Handler) budgets(w http.ResponseWriter, r *http.Request) {
	if h.o.Budgets == nil {
		writeError(w, http.StatusNotFound, "not_found_error", "budgets_disabled", "", "budgets are not enabled")
		return
	}
	scope := r.URL.Query().Get("scope")
	var bs []limits.Budget
	switch {
	case strings.HasPrefix(scope, "key:"):
		k, err := h.o.Keys.Get(r.Context(), strings.TrimPrefix(scope, "key:"))
		if err != nil {
			h.fail(w, err)
			return
		}
		bs = h.o.Budgets.KeyBudgets(k)
	case strings.HasPrefix(scope, "team:") && len(scope) > len("team:"):
		bs = h.o.Budgets.TeamBudgets(strings.TrimPrefix(scope, "team:"))
	case strings.HasPrefix(scope, "user:") && strings.Contains(scope[len("user:"):], ":"):
		id, user, _ := strings.Cut(scope[len("user:"):], ":")
		k, err := h.o.Keys.Get(r.Context(), id)
		if err != nil {
			h.fail(w, err)
			return
		}
		bs = h.o.Budgets.EndUserBudgets(k, user)
	default:
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", "scope", "scope must be key:ID, team:NAME or user:KEYID:USER")
		return
	}
	out := struct {
		Object  string       `json:"object"`
		Scope   string       `json:"scope"`
		Budgets []BudgetView `json:"budgets"`
	}{Object: "budgets", Scope: scope, Budgets: []BudgetView{}}
	if len(bs) > 0 {
		states, err := h.o.Budgets.State(r.Context(), bs)
		if err != nil {
			h.fail(w, err)
			return
		}
		for _, s := range states {
			v := BudgetView{Period: s.Budget.Period, Hosting: s.Budget.Hosting,
				LimitUSD: limits.FormatUSD(s.Budget.LimitNanos), SpentUSD: limits.FormatUSD(s.SpentNanos),
				ReservedUSD: limits.FormatUSD(s.ReservedNanos), RemainingUSD: limits.FormatUSD(s.RemainingNanos),
				LimitNanos: s.Budget.LimitNanos, SpentNanos: s.SpentNanos, ReservedNanos: s.ReservedNanos,
				RemainingNanos: s.RemainingNanos, PeriodStart: s.PeriodStart}
			if v.Hosting == "" {
				v.Hosting = limits.HostingProprietary
			}
			if !s.ResetsAt.IsZero() {
				t := s.ResetsAt
				v.ResetsAt = &t
			}
			out.Budgets = append(out.Budgets, v)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// SavingsView is the body of GET /admin/savings: the live ledger of every
// self-hosted provider with a cost model, from the start of its records to
// AsOf (field by field as `fulcrum savings --json`).
type SavingsView struct {
	Object    string         `json:"object"` // "savings"
	AsOf      time.Time      `json:"as_of"`
	Providers []savings.Line `json:"providers"`
}

func (h *Handler) savings(w http.ResponseWriter, r *http.Request) {
	if h.o.Savings == nil {
		writeError(w, http.StatusNotFound, "not_found_error", "savings_disabled", "", "no self-hosted provider has a cost model (providers[].cost)")
		return
	}
	lines := h.o.Savings.Lines()
	if lines == nil {
		lines = []savings.Line{}
	}
	var asOf time.Time
	if len(lines) > 0 {
		asOf = lines[0].To
	} else {
		asOf = h.o.Now().UTC()
	}
	writeJSON(w, http.StatusOK, SavingsView{Object: "savings", AsOf: asOf, Providers: lines})
}

// UsageView is the body of GET /admin/usage.
type UsageView struct {
	Object  string           `json:"object"` // "usage"
	From    *time.Time       `json:"from,omitempty"`
	To      *time.Time       `json:"to,omitempty"`
	GroupBy []string         `json:"group_by"`
	Groups  []UsageGroupView `json:"groups"`
}

// UsageGroupView is one group of a usage summary: the store's sums plus the
// cost in USD as a decimal string.
type UsageGroupView struct {
	store.UsageGroup
	CostUSD string `json:"cost_usd"`
}

// usage serves GET /admin/usage?since=7d&until=...&group_by=tag:team,model
// with optional key, team, model, provider and hosting filters: the same
// summary as `fulcrum usage` (store.UsageSummary). Groups by user or tag
// read raw rows only (their retention).
func (h *Handler) usage(w http.ResponseWriter, r *http.Request) {
	if h.o.Usage == nil {
		writeError(w, http.StatusNotFound, "not_found_error", "usage_disabled", "", "no usage store is configured")
		return
	}
	q := r.URL.Query()
	now := h.o.Now()
	from, err := store.ParseWhen(q.Get("since"), now)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", "since", "since: "+err.Error())
		return
	}
	to, err := store.ParseWhen(q.Get("until"), now)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", "until", "until: "+err.Error())
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", "since", "since is not before until")
		return
	}
	var by []store.GroupBy
	gb := "model"
	if q.Has("group_by") {
		gb = q.Get("group_by")
	}
	for g := range strings.SplitSeq(gb, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if !store.ValidGroupBy(store.GroupBy(g)) {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", "group_by",
				fmt.Sprintf("group_by: unknown dimension %q (want %s)", g, store.GroupByNames))
			return
		}
		by = append(by, store.GroupBy(g))
	}
	f := store.UsageFilter{From: from, To: to, KeyID: q.Get("key"), Team: q.Get("team"),
		Model: q.Get("model"), Provider: q.Get("provider"), Hosting: q.Get("hosting"), EndUser: q.Get("user")}
	if f.Tags, err = store.ParseTagFilter(q["tag"]); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", "tag", err.Error())
		return
	}
	if q.Has("user") && f.EndUser == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", "user",
			`user: empty; records without an end user are the "" group of group_by=user`)
		return
	}
	groups, err := h.o.Usage.UsageSummary(r.Context(), f, by)
	if err != nil {
		h.fail(w, err)
		return
	}
	out := UsageView{Object: "usage", GroupBy: []string{}, Groups: []UsageGroupView{}}
	if !from.IsZero() {
		out.From = &from
	}
	if !to.IsZero() {
		out.To = &to
	}
	for _, g := range by {
		out.GroupBy = append(out.GroupBy, string(g))
	}
	for _, g := range groups {
		out.Groups = append(out.Groups, UsageGroupView{UsageGroup: g, CostUSD: limits.FormatUSD(g.CostNanos)})
	}
	writeJSON(w, http.StatusOK, out)
}

// fail maps a service error to its status.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, keys.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", "", strings.TrimPrefix(err.Error(), "keys: invalid: "))
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found_error", "key_not_found", "", "no such key")
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "invalid_request_error", "key_exists", "name", "a key with this name already exists")
	default:
		h.o.Logger.Error("admin: request failed", "err", err)
		writeError(w, http.StatusInternalServerError, "api_error", "internal_error", "", "internal error")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store") // responses may carry a secret
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, typ, code, param, msg string) {
	var b errorBody
	b.Error.Message, b.Error.Type, b.Error.Code = msg, typ, code
	if param != "" {
		b.Error.Param = &param
	}
	writeJSON(w, status, b)
}
