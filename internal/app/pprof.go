package app

import (
	"log/slog"
	"net/http"
	"net/http/pprof"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// startPprof serves Go's profiler on addr (FULCRUM_PPROF_ADDR), for
// profiling under load. Loopback addresses only: profiles reveal memory.
func startPprof(addr string, log *slog.Logger) {
	if !config.IsLoopback(addr) {
		log.Warn("FULCRUM_PPROF_ADDR must be a loopback address; profiler not started", "addr", addr)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			log.Warn("profiler stopped", "err", err)
		}
	}()
	log.Info("profiler listening", "addr", addr)
}
