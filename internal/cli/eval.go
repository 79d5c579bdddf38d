package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/app"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/eval"
)

func evalCmd(e *env) *cobra.Command {
	var (
		cfgPath, gatewayURL, apiKey, out, cacheDir string
		models                                     []string
		noCache                                    bool
		concurrency, retries                       int
	)
	cmd := &cobra.Command{
		Use:   "eval SUITE",
		Short: "Run an evaluation suite against several models side by side",
		Long: `Run SUITE (YAML) against its models, either in-process from a config
(--config, e.g. examples/demo.yaml) or through a running gateway (--gateway
http://127.0.0.1:8080/v1). Writes results.json, summary.md and report.html to
--out. Answers are cached on disk keyed by the exact request; --no-cache
refreshes them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			suite, err := eval.LoadSuite(args[0])
			if err != nil {
				return err
			}
			opts := eval.Options{
				Models: models, NoCache: noCache, Concurrency: concurrency, Retries: retries,
				Progress: e.stderr, TTY: eval.IsTerminal(os.Stderr),
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
				providers, err := app.BuildProviders(cmd.Context(), cfg, app.NewLogger(cfg.Logging, e.stderr))
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
			files, err := eval.WriteFiles(out, rep)
			if err != nil {
				return err
			}
			if err := eval.WriteMarkdown(e.stdout, rep); err != nil {
				return err
			}
			for _, f := range files {
				fmt.Fprintln(e.stderr, "wrote", f)
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
	f.IntVar(&concurrency, "concurrency", 0, "parallel calls (default: the suite's)")
	f.IntVar(&retries, "retries", 0, "retries per call (default: the suite's)")
	return cmd
}
