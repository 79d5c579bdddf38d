package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/app"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/eval"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

func evalCmd(e *env) *cobra.Command {
	var (
		cfgPath, gatewayURL, apiKey, out, cacheDir string
		models                                     []string
		noCache, force                             bool
		concurrency, retries                       int
		maxErrorRate                               float64
	)
	cmd := &cobra.Command{
		Use:   "eval SUITE",
		Short: "Run an evaluation suite against several models side by side",
		Long: `Run SUITE (YAML) against its models, either in-process from a config
(--config, e.g. examples/demo.yaml) or through a running gateway (--gateway
http://127.0.0.1:8080/v1). Writes results.json, summary.md and report.html to
--out; when --out already holds results they are kept and the new ones go
to a sub-directory named after the run's start time (--force overwrites).
Answers are cached on disk keyed by the provider, upstream model and the
exact request; through --gateway, by the URL, the model name, its
/v1/models entry and the model the answer names, so the first call of each
model in a run is always asked live. --no-cache refreshes them.

Exits with status 1 (after writing the reports) when any model's share of
failed calls is above --max-error-rate (default 0: any failed call), and
always prints one line with every model's failed calls.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if maxErrorRate < 0 || maxErrorRate > 1 {
				return fmt.Errorf("eval: --max-error-rate must be between 0 and 1, not %g", maxErrorRate)
			}
			suite, err := eval.LoadSuite(args[0])
			if err != nil {
				return err
			}
			opts := eval.Options{
				Models: models, NoCache: noCache, Concurrency: concurrency,
				Progress: e.stderr, TTY: eval.IsTerminal(os.Stderr),
			}
			if cmd.Flags().Changed("retries") {
				// 0 is "never": before, it was read as unset and the
				// suite's 2 retries applied.
				if retries < 0 {
					return fmt.Errorf("eval: --retries must not be negative, not %d", retries)
				}
				opts.Retries = &retries
			}
			if !noCache || cacheDir != "" {
				opts.CacheDir = cacheDir
				if opts.CacheDir == "" {
					opts.CacheDir = eval.DefaultCacheDir()
				}
			}
			var cfg *config.Config
			switch {
			case gatewayURL != "":
				if apiKey == "" {
					apiKey, _ = e.lookup("FULCRUM_API_KEY")
				}
				if apiKey == "" {
					apiKey, _ = e.lookup("FULCRUM_MASTER_KEY")
				}
				opts.Client = &eval.HTTPClient{BaseURL: gatewayURL, APIKey: apiKey}
				cfg = config.Defaults(e.lookup)
			default:
				cfg, err = loadConfig(e, cfgPath)
				if err != nil {
					return err
				}
				var providers map[string]provider.Provider
				providers, cfg, err = app.BuildProviders(cmd.Context(), cfg, app.NewLogger(cfg.Logging, e.stderr))
				if err != nil {
					return err
				}
				client, err := eval.NewProviderClient(cfg, providers)
				if err != nil {
					return err
				}
				opts.Client = client
			}
			if opts.Price, err = app.PriceFunc(cfg); err != nil {
				return err
			}
			rep, err := eval.Run(cmd.Context(), suite, opts)
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join("eval-results", suite.Name)
			}
			dir, moved := eval.OutputDir(out, rep, force)
			if moved {
				fmt.Fprintf(e.stderr, "%s already holds results: keeping them and writing to %s (--force overwrites)\n", out, dir)
			}
			files, err := eval.WriteFiles(dir, rep)
			if err != nil {
				return err
			}
			if err := eval.WriteMarkdown(e.stdout, rep); err != nil {
				return err
			}
			for _, f := range files {
				fmt.Fprintln(e.stderr, "wrote", f)
			}
			fmt.Fprintln(e.stderr, rep.ErrorSummary())
			if bad := rep.ErrorRateExceeded(maxErrorRate); len(bad) > 0 {
				return fmt.Errorf("eval: failed calls above --max-error-rate %g for %s: the results measure the failures, not the models", maxErrorRate, strings.Join(bad, ", "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfgPath, "config", "c", "", "config whose models are called in-process (e.g. examples/demo.yaml)")
	f.StringVar(&gatewayURL, "gateway", "", "call models through a running gateway at this base URL (e.g. http://127.0.0.1:8080/v1)")
	f.StringVar(&apiKey, "api-key", "", "key for --gateway (default $FULCRUM_API_KEY, then $FULCRUM_MASTER_KEY)")
	f.StringSliceVar(&models, "models", nil, "models to evaluate, overriding the suite's")
	f.StringVarP(&out, "out", "o", "", "directory for results.json, summary.md and report.html (default eval-results/SUITE)")
	f.StringVar(&cacheDir, "cache-dir", "", "answer cache directory (default: the user cache dir)")
	f.BoolVar(&noCache, "no-cache", false, "ignore cached answers")
	f.BoolVar(&force, "force", false, "overwrite results already in --out instead of writing to a timestamped sub-directory")
	f.Float64Var(&maxErrorRate, "max-error-rate", 0, "largest share of failed calls per model before the exit status is 1 (0: any failure fails)")
	f.IntVar(&concurrency, "concurrency", 0, "parallel calls (default: the suite's)")
	f.IntVar(&retries, "retries", 0, "retries per call, 0 for none (default: the suite's)")
	return cmd
}
