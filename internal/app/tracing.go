package app

import (
	"context"
	"os"
	"runtime/debug"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/telemetry"
)

// wireTracing builds the OpenTelemetry tracer when telemetry config or the
// OTEL_* environment turn it on (docs/tracing.md). Spans still buffered
// are exported when the gateway closes (within 5 s).
func (g *Gateway) wireTracing(ctx context.Context, o *gateway.Options) error {
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
	}
	tr, err := telemetry.New(ctx, g.Config.Telemetry, telemetry.Options{Lookup: os.LookupEnv, Version: version, Log: g.log})
	if err != nil || tr == nil {
		return err
	}
	g.log.Info("tracing on: exporting OTLP/HTTP spans", "capture_content", tr.CaptureContent())
	o.Tracer, g.tracer = tr, tr
	g.closers = append(g.closers, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return tr.Shutdown(sctx)
	})
	return nil
}
