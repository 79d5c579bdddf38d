package cli

import (
	"encoding/json"
	"errors"
	"math"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/router"
)

func routeEvalCmd(e *env) *cobra.Command {
	var split, format, data, domain, routerFile string
	var bootstrap int
	cmd := &cobra.Command{
		Use:   "route-eval",
		Short: "Score the prompt router on recorded GSM8K answers of GPT-4 and Mixtral-8x7B",
		Long: `Score the difficulty router (routes with strategy: router) offline, on 1,319
GSM8K questions answered by GPT-4 (strong) and Mixtral-8x7B (weak), with
per-question correctness. Prints APGR (area under the accuracy vs strong-share
curve, normalised so random routing is 0.5) and the strong-call share needed to
recover 50% and 80% of the quality gap, next to the random and "longer prompt
goes to the strong model" baselines and an oracle.

--split heldout (the default) is the half the router never saw in training; only
its numbers are a fair estimate.

--data FILE scores any CSV, TSV, JSON Lines or JSON array of (prompt, weak, strong) records (weak and
strong: true/false or a score in [0, 1]; columns prompt, weak, strong); --domain
gsm8k|mmlu|mt_bench picks an embedded recording; --router FILE scores a router
written by route-train instead of the embedded one.

Each APGR comes with its bootstrap standard deviation (--bootstrap resamples of
the scored records, default 500): differences smaller than it are noise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkChoice("format", format, "table", "json"); err != nil {
				return err
			}
			if err := checkChoice("split", split, "heldout", "train", "all"); err != nil {
				return err
			}
			if bootstrap < 0 {
				return errors.New("--bootstrap must be 0 or more")
			}
			opts := router.RouteEvalOptions{Split: split, Bootstrap: bootstrap}
			var err error
			if opts.Examples, opts.Label, err = loadRouteData(data, domain); err != nil {
				return err
			}
			if routerFile != "" {
				m, err := loadRouterFile(routerFile)
				if err != nil {
					return err
				}
				opts.Scorer = m
			}
			if format == "table" {
				_, err := router.RouteEval(cmd.Context(), e.stdout, opts)
				return err
			}
			res, err := router.RouteEval(cmd.Context(), nil, opts)
			if err != nil {
				return err
			}
			return writeRouteEvalJSON(e, res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&split, "split", "heldout", "heldout, train or all")
	f.StringVar(&format, "format", "table", "table or json")
	f.StringVar(&data, "data", "", "CSV, TSV, JSONL or JSON array of (prompt, weak, strong) records to score on instead of GSM8K")
	f.StringVar(&domain, "domain", "", "embedded recording to score on: gsm8k, mmlu or mt_bench")
	f.StringVar(&routerFile, "router", "", "router file from route-train (default: the embedded router)")
	f.IntVar(&bootstrap, "bootstrap", 500, "resamples for the bootstrap s.d. of each APGR (0: none)")
	return cmd
}

func writeRouteEvalJSON(e *env, res *router.RouteEvalResult) error {
	type row struct {
		Name     string   `json:"name"`
		APGR     float64  `json:"apgr"`
		SD       *float64 `json:"apgr_sd,omitempty"` // absent without a bootstrap or when undefined
		RouteLLM float64  `json:"apgr_routellm"`     // ten quantile bins, as RouteLLM computes it
		Share50  float64  `json:"strong_share_50"`
		Share80  float64  `json:"strong_share_80"`
	}
	m := res.Router.Metrics
	out := struct {
		Split          string  `json:"split"`
		N              int     `json:"n"`
		WeakAccuracy   float64 `json:"weak_accuracy"`
		StrongAccuracy float64 `json:"strong_accuracy"`
		Rows           []row   `json:"rows"`
		DecideNanos    int64   `json:"decide_ns_per_prompt"`
	}{Split: res.Split, N: res.N, WeakAccuracy: m.WeakAccuracy, StrongAccuracy: m.StrongAccuracy, DecideNanos: res.DecideTime.Nanoseconds()}
	for _, r := range res.Rows {
		var sd *float64
		if res.Bootstrap > 1 && !math.IsNaN(r.SD) {
			sd = &r.SD
		}
		out.Rows = append(out.Rows, row{Name: r.Name, APGR: r.APGR, SD: sd, RouteLLM: r.RouteLLMAPGR, Share50: r.Share50, Share80: r.Share80})
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
