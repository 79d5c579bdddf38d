// Package web is Fulcrum's dashboard, served under /ui by the gateway.
//
// It is server-rendered HTML (html/template) with inline CSS and charts
// drawn as inline SVG in Go: no JavaScript framework, no build step, no
// request to any other host at run time, and every page works with
// scripting off. The templates and stylesheet are embedded with go:embed.
//
// Access needs the master key: the login form exchanges it for a signed,
// HttpOnly, SameSite=Strict session cookie, and every form that changes
// something carries a CSRF token bound to that session. Pages show counts,
// classes and actions, never a prompt, a completion, a detected value or a
// key's secret (a new key's secret is shown once, on the page that created
// it, and never stored).
package web

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fulcrumhq/fulcrum/internal/advise"
	"github.com/fulcrumhq/fulcrum/internal/keys"
	"github.com/fulcrumhq/fulcrum/internal/limits"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/shadow"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

//go:embed templates/*.html static/style.css
var files embed.FS

// Budgets reads budget states; *limits.Gate implements it.
type Budgets interface {
	KeyBudgets(k *store.Key) []limits.Budget
	State(ctx context.Context, budgets []limits.Budget) ([]limits.BudgetState, error)
}

// Options configures New. MasterKey and Store are required; other nil
// fields leave their part of a page in an empty state that says why.
type Options struct {
	// MasterKey is the only credential that opens the dashboard. Without
	// one the dashboard answers 403, as the admin API does.
	MasterKey string
	Store     store.Store
	// Keys creates and revokes keys from the keys page.
	Keys *keys.Service
	// Budgets shows spend against each key's limit.
	Budgets Budgets
	// Health reports targets and breakers (router.Router.Health).
	Health func() []router.TargetHealth
	// Metrics is read for counts the store does not keep (rate-limit
	// refusals, which never reach an upstream).
	Metrics prometheus.Gatherer
	// VerifyAudit checks the audit chain's latest rows (audit.VerifyTail);
	// whole is true when they are the whole log.
	VerifyAudit func(ctx context.Context) (rows int, bad int64, whole bool, err error)
	// Advise builds the advise report shown on the reports page; nil
	// when no profile is configured (ui.advise_profile).
	Advise func(ctx context.Context) (*advise.Report, error)
	// Shadow summarises the stored shadow comparisons (the report of
	// `fulcrum shadow report`); nil when the store keeps none.
	Shadow func(ctx context.Context) (*shadow.Report, error)
	// ReportsDir holds `fulcrum eval` JSON reports to list.
	ReportsDir string
	Now        func() time.Time
	Logger     *slog.Logger
}

// Handler serves /ui and everything under it.
type Handler struct {
	o    Options
	mux  *http.ServeMux
	tmpl *template.Template
	css  []byte
}

// New builds the dashboard handler.
func New(o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{o: o, mux: http.NewServeMux()}
	h.tmpl = template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/*.html"))
	h.css, _ = files.ReadFile("static/style.css")
	h.mux.HandleFunc("GET /ui/static/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(h.css)
	})
	h.mux.HandleFunc("GET /ui/login", h.login)
	h.mux.HandleFunc("POST /ui/login", h.login)
	h.mux.HandleFunc("POST /ui/logout", h.logout)
	h.mux.Handle("GET /ui/{$}", h.authed(h.overview))
	h.mux.Handle("GET /ui/policy", h.authed(h.policy))
	h.mux.Handle("GET /ui/routing", h.authed(h.routing))
	h.mux.Handle("GET /ui/keys", h.authed(h.keys))
	h.mux.Handle("POST /ui/keys", h.authed(h.createKey))
	h.mux.Handle("POST /ui/keys/{id}/revoke", h.authed(h.revokeKey))
	h.mux.Handle("GET /ui/reports", h.authed(h.reports))
	h.mux.Handle("GET /ui/advise", h.authed(h.adviseReport))
	h.mux.Handle("GET /ui/shadow", h.authed(h.shadowReport))
	h.mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Nothing is loaded from anywhere else; frames only from here (the
	// advise report is shown in one); no one may frame the dashboard.
	hd.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'none'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin") // "no-referrer" makes browsers send "Origin: null" on form posts
	if h.o.MasterKey == "" {
		http.Error(w, "the dashboard needs a master key (FULCRUM_MASTER_KEY)", http.StatusForbidden)
		return
	}
	h.mux.ServeHTTP(w, r)
}

type pageFunc func(w http.ResponseWriter, r *http.Request, p *page) error

// authed sends a request without a valid session to the login form, and
// checks the CSRF token of every POST.
func (h *Handler) authed(f pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := h.session(r)
		if s == "" {
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
			if !h.checkPost(r) {
				http.Error(w, "invalid or missing form token; reload the page", http.StatusForbidden)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		p := &page{CSRF: h.csrf(s), Path: r.URL.Path, Now: h.o.Now().UTC()}
		if err := f(w, r, p); err != nil {
			h.o.Logger.Error("ui: page failed", "path", r.URL.Path, "err", err)
			p.Error = "Could not load this page: " + err.Error()
			h.render(w, r, http.StatusInternalServerError, "error", *p)
		}
	})
}

// page is what every template gets; Data is the page's own.
type page struct {
	Title string
	Path  string
	CSRF  string
	Error string
	Now   time.Time
	Data  any
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := h.tmpl.ExecuteTemplate(w, name, p); err != nil {
		h.o.Logger.Error("ui: render", "template", name, "err", err)
	}
}
