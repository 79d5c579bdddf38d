// Package cli implements the fulcrum command: serve, config check, version
// and the operator commands (keys, usage, prices, audit, eval, advise,
// route-eval, migrate). main calls Main; tests call it too.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = ""

// env holds what commands read from the process, injectable for tests.
type env struct {
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
}

// Main runs the fulcrum command line with args (without the program name).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e := &env{stdout: stdout, stderr: stderr, lookup: os.LookupEnv}
	root := &cobra.Command{
		Use:           "fulcrum",
		Short:         "One gateway for open-weight and proprietary LLMs: data sovereignty, metering, routing, evidence.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		serveCmd(e),
		configCmd(e),
		versionCmd(e),
		evalCmd(e),
		adviseCmd(e),
		usageCmd(e),
		pricesCmd(e),
		migrateCmd(e),
		routeEvalCmd(e),
		auditCmd(e),
		keysCmd(e),
	)
	for _, add := range extraCommands {
		root.AddCommand(add(e))
	}
	return root.ExecuteContext(ctx)
}

// extraCommands are added by the other files of this package.
var extraCommands []func(*env) *cobra.Command

func versionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(e.stdout, "fulcrum %s\n", version())
			return nil
		},
	}
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return fmt.Sprintf("%s (%s, %s)", v, s.Value[:12], bi.GoVersion)
			}
		}
		return fmt.Sprintf("%s (%s)", v, bi.GoVersion)
	}
	return "(devel)"
}
