package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/keys"
	"github.com/fulcrumhq/fulcrum/internal/limits"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/savings"
	"github.com/fulcrumhq/fulcrum/internal/shadow"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/telemetry"
)

// NewLogger builds the process logger from the logging config.
func NewLogger(cfg config.Logging, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Gateway is a built, not yet serving, gateway.
type Gateway struct {
	Config    *config.Config
	Handler   *gateway.Server
	Providers map[string]provider.Provider
	Store     store.Store
	prices    *pricer
	// collectors are Prometheus collectors registered on the gateway's metrics.
	collectors []prometheus.Collector
	// keys and gate are set by wireKeys, for the dashboard.
	keys *keys.Service
	gate *limits.Gate
	// ledger is the savings ledger (nil without self-hosted cost models).
	ledger *savings.Ledger
	// shadow is the shadow evaluation engine (nil when off).
	shadow *shadow.Engine
	// tracer exports spans (nil when tracing is off).
	tracer *telemetry.Tracer
	// flight writes execution-trace snapshots of slow requests (nil when
	// diagnostics.flight_recorder is off).
	flight  *flightRecorder
	closers []func() error
	log     *slog.Logger
}

// Build wires a gateway from cfg. Access-log lines go to log's handler
// unless AccessLog is set on the returned gateway's options by Serve.
func Build(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Gateway, error) {
	return build(ctx, cfg, log, log)
}

func build(ctx context.Context, cfg *config.Config, log, access *slog.Logger) (*Gateway, error) {
	providers, cfg, err := BuildProviders(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	g := &Gateway{Config: cfg, Providers: providers, log: log}
	if g.prices, err = newPricer(cfg); err != nil {
		return nil, err
	}
	router, err := newRouter(cfg, providers, g.prices, log)
	if err != nil {
		return nil, err
	}
	opts := gateway.Options{
		Metrics:      gateway.NewMetrics(),
		Router:       router,
		MasterKey:    cfg.Server.MasterKey,
		MetricsToken: cfg.Server.MetricsToken,
		MaxBodyBytes: cfg.Server.MaxBodyBytes,
		Inputs: gateway.Inputs{
			MaxInFlight: cfg.Server.MaxInFlight, MaxBodyMemory: cfg.Server.MaxBodyMemory, BodyTimeout: cfg.Server.BodyTimeout.D(), MinBodyRate: cfg.Server.MinBodyRate, WriteStall: cfg.Server.WriteStall.D(),
			MaxMessages: cfg.Server.MaxMessages, MaxJSONDepth: cfg.Server.MaxJSONDepth,
			MaxOutputTokens: cfg.Server.MaxOutputTokens, MaxFulcrumHeaderBytes: cfg.Server.MaxFulcrumHeaderBytes,
		},
		Logger:    log,
		AccessLog: access,
	}
	if err := g.wireTracing(ctx, &opts); err != nil {
		return nil, err
	}
	if err := g.wireFeatures(ctx, &opts); err != nil {
		g.Close()
		return nil, err
	}
	g.wireSavings(ctx, &opts)
	if err := g.wireKeys(ctx, &opts, g.Store, router); err != nil {
		g.Close()
		return nil, err
	}
	g.wireHybrid(&opts)
	g.wireShadow(&opts)
	g.wireDisk(ctx, &opts)
	if err := g.wireFlight(); err != nil {
		g.Close()
		return nil, err
	}
	if rs, ok := g.Store.(store.Responses); ok {
		// With storage.responses off, the store still records which key
		// made each upstream-kept response, so that no other key can
		// continue it.
		opts.Responses = rs
		opts.ResponseIDsOnly = cfg.Storage.Responses != nil && !*cfg.Storage.Responses
	}
	for _, c := range g.collectors {
		opts.Metrics.Registry.MustRegister(c)
	}
	if err := g.wireUI(&opts, router); err != nil {
		g.Close()
		return nil, err
	}
	g.Handler = gateway.New(opts)
	return g, nil
}

// Close releases what Build opened, in reverse order.
func (g *Gateway) Close() error {
	var errs []error
	for i := len(g.closers) - 1; i >= 0; i-- {
		errs = append(errs, g.closers[i]())
	}
	g.closers = nil
	return errors.Join(errs...)
}

// newRouter builds the router over the configured models and routes. Its
// least-cost balancing compares a typical call (1,000 tokens in, 250 out)
// at each target's price; cascade judges are called directly on their
// provider.
func newRouter(cfg *config.Config, providers map[string]provider.Provider, prices *pricer, log *slog.Logger) (*router.Router, error) {
	var r *router.Router
	// The judge's call is made for the request it judges: its prompt holds
	// that request's redacted text and it may reach only the targets that
	// request's clearance permits.
	judge := func(ctx context.Context, clr policy.Clearance, model, prompt string) (string, error) {
		plan, err := r.Resolve(model)
		if err != nil {
			return "", err
		}
		req := &llm.ChatRequest{Model: model, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, prompt)}}
		resp, _, err := router.Execute(ctx, plan.For(req), clr,
			func(ctx context.Context, t *router.Target, pm policy.Permit, n int) (*llm.ChatResponse, error) {
				up := *req
				up.Model = t.Upstream
				start := time.Now()
				out, err := t.Provider.Chat(ctx, pm, &up)
				// Recorded, priced and settled as attempt 0 of the
				// request it judges.
				var u *llm.Usage
				if err == nil && out != nil {
					u = out.Usage
				}
				gateway.CallFrom(ctx).Judged(ctx, model, t, start, u, err)
				return out, err
			})
		if err != nil {
			return "", err
		}
		if len(resp.Choices) == 0 {
			return "", fmt.Errorf("judge %q gave no answer", model)
		}
		return resp.Choices[0].Message.Text(), nil
	}
	var err error
	r, err = router.New(cfg, providers, router.Options{
		Logger: log,
		Judge:  judge,
		Price: func(t *router.Target) float64 {
			return float64(prices.worstCase(t.Provider.Info(), t.Upstream, 1000, 250, 1))
		},
	})
	return r, err
}

// Serve runs the gateway on cfg.Server.Listen until ctx is done, then stops
// accepting and lets in-flight requests and streams finish within the
// shutdown grace period. ready, if not nil, receives the bound address.
func Serve(ctx context.Context, cfg *config.Config, logOutput io.Writer, ready func(addr string)) error {
	log := NewLogger(cfg.Logging, logOutput)
	if cfg.Server.MasterKey == "" && !config.IsLoopback(cfg.Server.Listen) {
		return fmt.Errorf("refusing to listen on %s without a master key: set FULCRUM_MASTER_KEY or listen on 127.0.0.1", cfg.Server.Listen)
	}
	if err := os.MkdirAll(cfg.Storage.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// Access lines are buffered (flushed every 100 ms and at exit); other
	// log lines are written at once.
	alog := newBufferedLog(logOutput, 100*time.Millisecond)
	defer alog.Close()
	g, err := build(ctx, cfg, log, NewLogger(cfg.Logging, alog))
	if err != nil {
		return err
	}
	defer g.Close()
	logInventory(log, cfg)
	// Start-up decodes catalogues and leaves garbage behind; give it back
	// to the OS before serving, and unmap the executable's pages only
	// start-up touched (FULCRUM_KEEP_START_PAGES=1 keeps them, to compare).
	debug.FreeOSMemory()
	if os.Getenv("FULCRUM_KEEP_START_PAGES") == "" {
		releaseStartPages()
	}

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.Server.MasterKey == "" {
		// The name may have resolved to something else than loopback.
		if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
			ln.Close()
			return fmt.Errorf("refusing to listen on %s (%s) without a master key: set FULCRUM_MASTER_KEY or listen on 127.0.0.1", cfg.Server.Listen, ln.Addr())
		}
	}
	var h http.Handler = g.Handler
	if cfg.Server.MasterKey == "" {
		h = localOnly(h)
	}
	if g.flight != nil {
		h = g.flight.wrap(h)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
		MaxHeaderBytes:    cfg.Server.MaxHeaderBytes,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if addr := os.Getenv("FULCRUM_PPROF_ADDR"); addr != "" {
		startPprof(addr, log)
	}
	log.Info("listening", "addr", ln.Addr().String(), "auth", authMode(cfg))
	warnWeakMasterKey(log, cfg)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(errorListener{Listener: ln, maxHeaderBytes: cfg.Server.MaxHeaderBytes}) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	grace := cfg.Server.ShutdownGrace.D()
	log.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("grace period over; closing remaining connections", "err", err)
		srv.Close()
	}
	return nil
}

func authMode(cfg *config.Config) string {
	if cfg.Server.MasterKey != "" {
		return "master key"
	}
	return "none (loopback only)"
}

// minMasterKey is the shortest master key not warned about: the master
// key opens the admin API, the dashboard and every model, and failed
// attempts are not throttled, so it must be long and random (32 random
// bytes in base64 are 44 characters).
const minMasterKey = 32

// warnWeakMasterKey warns when the master key is short and the gateway
// listens beyond loopback, where anyone on the network can guess at it.
func warnWeakMasterKey(log *slog.Logger, cfg *config.Config) {
	if k := cfg.Server.MasterKey; k != "" && len(k) < minMasterKey && !config.IsLoopback(cfg.Server.Listen) {
		log.Warn("the master key is short: use at least 32 random characters (openssl rand -base64 32); it opens the admin API and failed attempts are not throttled",
			"length", len(k))
	}
}

// logInventory says which providers and models were found, without secrets.
func logInventory(log *slog.Logger, cfg *config.Config) {
	if len(cfg.Providers) == 0 {
		log.Warn("no providers configured: set OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY or OLLAMA_HOST, or pass --config")
	}
	byProvider := map[string][]string{}
	for _, m := range cfg.Models {
		byProvider[m.Provider] = append(byProvider[m.Provider], m.Name)
	}
	for _, p := range cfg.Providers {
		models := byProvider[p.Name]
		sort.Strings(models)
		log.Info("provider", "name", p.Name, "type", p.Type, "hosting", p.Hosting, "base_url", redactURL(p.BaseURL), "models", strings.Join(models, ","))
	}
}
