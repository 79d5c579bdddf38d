// Command mock is the benchmark's upstream: an OpenAI-compatible
// POST /v1/chat/completions answering from precomputed bytes (see
// bench/internal/mockup).
//
//	mock -listen 127.0.0.1:18081 [-latency 0] [-chunk-delay 0]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fulcrumhq/fulcrum/bench/internal/mockup"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18081", "address to listen on")
	latency := flag.Duration("latency", 0, "delay before the response headers")
	chunkDelay := flag.Duration("chunk-delay", 0, "delay between stream events (to make streams overlap)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *listen, mockup.New(mockup.Options{Latency: *latency, ChunkDelay: *chunkDelay})); err != nil {
		log.Fatal(err)
	}
}

// serve runs h on addr until ctx ends.
func serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mock: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(os.Stderr, "mock: ", 0)}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("mock: %w", err)
	}
	return nil
}
