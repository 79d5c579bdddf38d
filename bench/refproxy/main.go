// Command refproxy is the harness's reference "do-nothing proxy": a bare
// httputil.ReverseProxy in front of one upstream (see
// bench/internal/refproxy).
//
//	refproxy -listen 127.0.0.1:18082 -upstream http://127.0.0.1:18081
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fulcrumhq/fulcrum/bench/internal/refproxy"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18082", "address to listen on")
	upstream := flag.String("upstream", "http://127.0.0.1:18081", "upstream base URL")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" {
		log.Fatalf("refproxy: bad -upstream %q", *upstream)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("refproxy: %v", err)
	}
	srv := &http.Server{Handler: refproxy.New(u), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("refproxy: %v", err)
	}
}
