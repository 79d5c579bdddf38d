// Command fulcrum is an LLM gateway for hybrid open-weight and proprietary
// deployments. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/fulcrumhq/fulcrum/internal/cli"
)

func main() {
	// The first Ctrl-C or SIGTERM asks the command to stop (serve drains
	// its requests for server.shutdown_grace); the second ends the process
	// at once, as if nothing caught it, for a drain or a computation
	// (advise on an extreme profile) one does not want to wait for.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fulcrum:", err)
		os.Exit(1)
	}
}
