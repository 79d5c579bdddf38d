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
	bi, _ := debug.ReadBuildInfo()
	return versionOf(bi)
}

// versionOf formats the module version and the commit the binary was built
// from. Go stamps both when it builds inside a git checkout with VCS
// stamping on (the default, unless GOFLAGS has -buildvcs=false): the module
// version is then the tag, or a pseudo-version naming the commit.
func versionOf(bi *debug.BuildInfo) string {
	if bi == nil {
		return "(unknown: no build information)"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return fmt.Sprintf("%s (%s; no commit recorded: build in a git checkout with -buildvcs=true)", v, bi.GoVersion)
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += ", modified"
	}
	return fmt.Sprintf("%s (commit %s, %s)", v, rev, bi.GoVersion)
}
