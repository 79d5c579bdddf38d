package router

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

// RouteEvalOptions configures RouteEval. Zero fields take the defaults
// noted.
type RouteEvalOptions struct {
	// Examples are the recorded answers. Default: the embedded GSM8K
	// recordings (GPT-4 strong, Mixtral-8x7B weak).
	Examples []difficulty.Example
	// Split is "heldout" (default), "train" or "all". The split is fixed by
	// a hash of the prompt (difficulty.Heldout); the embedded model was
	// trained on "train" only.
	Split string
	// Scorer is the router evaluated. Default: the embedded model.
	Scorer Scorer
	// Label names the data in the table. Default: the GSM8K recordings.
	Label string
	// Bootstrap is the number of resamples of the examples for each row's
	// APGR standard deviation (difficulty.BootstrapSD; fulcrum route-eval
	// uses 500). Default 0: none.
	Bootstrap int
}

// RouteEvalRow is one router's metrics.
type RouteEvalRow struct {
	Name string
	difficulty.Metrics
	// SD is the bootstrap standard deviation of APGR: how much it would
	// move on another sample of the same size (0 without
	// RouteEvalOptions.Bootstrap).
	SD float64
	// RouteLLMAPGR is APGR as RouteLLM's evaluation computes it: ten
	// quantile bins of the scores, trapezoids between them
	// (difficulty.APGRBins). It is there to compare with published numbers;
	// APGR, over every distinct score, is the finer one.
	RouteLLMAPGR float64
}

// RouteEvalResult is what RouteEval measured.
type RouteEvalResult struct {
	Label string
	Split string
	N     int
	// Rows are: random, longer prompt to strong, the difficulty router,
	// and the oracle (which knows the answers: an upper bound).
	Rows []RouteEvalRow
	// Router is the difficulty router's row.
	Router RouteEvalRow
	// DecideTime is the mean time to score one prompt.
	DecideTime time.Duration
	// Bootstrap is the number of resamples behind each row's SD (0: none).
	Bootstrap int
}

// RouteEval scores the prompt router on recorded answers of a strong and a
// weak model and writes a table to w: APGR (area under the accuracy vs
// strong-share curve, normalised so random is 0.5) and the strong-call
// shares that recover 50% and 80% of the quality gap, next to the random
// and "longer prompt goes to strong" baselines, then the router's accuracy
// at several strong shares.
func RouteEval(ctx context.Context, w io.Writer, opts RouteEvalOptions) (*RouteEvalResult, error) {
	ex := opts.Examples
	if ex == nil {
		all, err := difficulty.LoadGSM8K()
		if err != nil {
			return nil, fmt.Errorf("route-eval: %w", err)
		}
		ex = all
	}
	if opts.Split == "" {
		opts.Split = "heldout"
	}
	train, held := difficulty.Split(ex)
	switch opts.Split {
	case "heldout":
		ex = held
	case "train":
		ex = train
	case "all":
	default:
		return nil, fmt.Errorf("route-eval: split must be heldout, train or all, not %q", opts.Split)
	}
	if len(ex) == 0 {
		return nil, fmt.Errorf("route-eval: no examples in split %q", opts.Split)
	}
	if m := difficulty.Evaluate(ex, make([]float64, len(ex))); m.StrongAccuracy == m.WeakAccuracy {
		// APGR is the share of the quality gap a router recovers: with no
		// gap there is nothing to measure, and 0 would look like a result.
		return nil, fmt.Errorf("route-eval: the weak and the strong model are equally accurate on these %d records (%.1f%%): there is no quality gap to recover, so APGR is undefined", len(ex), 100*m.WeakAccuracy)
	}
	sc := opts.Scorer
	if sc == nil {
		sc = difficulty.Default()
	}
	res := &RouteEvalResult{Split: opts.Split, N: len(ex), Label: opts.Label, Bootstrap: opts.Bootstrap}
	if res.Label == "" {
		res.Label = "GSM8K recordings"
	}
	scores := make([]float64, len(ex))
	start := time.Now()
	for i := range ex {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("route-eval: %w", ctx.Err())
		}
		scores[i] = sc.Score(ex[i].Prompt)
	}
	res.DecideTime = time.Since(start) / time.Duration(len(ex))
	row := func(name string, s []float64) RouteEvalRow {
		r := RouteEvalRow{Name: name, Metrics: difficulty.Evaluate(ex, s), RouteLLMAPGR: difficulty.APGRBins(ex, s, 10)}
		if opts.Bootstrap > 1 {
			r.SD = difficulty.BootstrapSD(ex, s, opts.Bootstrap)
		}
		return r
	}
	baseline := func(name string, f func(e *difficulty.Example) float64) RouteEvalRow {
		s := make([]float64, len(ex))
		for i := range ex {
			s[i] = f(&ex[i])
		}
		return row(name, s)
	}
	res.Router = row("difficulty router", scores)
	res.Rows = []RouteEvalRow{
		// Equal scores are one tie group: the expected curve of random routing.
		baseline("random", func(*difficulty.Example) float64 { return 0 }),
		baseline("longer prompt to strong", func(e *difficulty.Example) float64 { return float64(len(e.Prompt)) }),
		res.Router,
		baseline("oracle (upper bound)", difficulty.LabelGain),
	}
	if w != nil {
		writeEval(w, res)
	}
	return res, nil
}

func writeEval(w io.Writer, res *RouteEvalResult) {
	m := res.Router.Metrics
	fmt.Fprintf(w, "route-eval: %s, %s split, %d questions\n", res.Label, res.Split, res.N)
	fmt.Fprintf(w, "weak accuracy %.1f%%, strong accuracy %.1f%%\n\n", 100*m.WeakAccuracy, 100*m.StrongAccuracy)
	if m.WeakAccuracy > m.StrongAccuracy {
		fmt.Fprintf(w, "note: the \"weak\" model is the more accurate one here; the gap is negative and a router that sends it more traffic scores higher than 1\n\n")
	}
	if res.Bootstrap > 1 {
		fmt.Fprintf(w, "| router | APGR | ± s.d. | strong share for 50%% of gap | for 80%% of gap |\n|---|---:|---:|---:|---:|\n")
	} else {
		fmt.Fprintf(w, "| router | APGR | strong share for 50%% of gap | for 80%% of gap |\n|---|---:|---:|---:|\n")
	}
	for _, r := range res.Rows {
		if res.Bootstrap > 1 {
			sd := fmt.Sprintf("%.3f", r.SD)
			if math.IsNaN(r.SD) {
				sd = "n/a" // too few resamples with a quality gap
			}
			fmt.Fprintf(w, "| %s | %.3f | %s | %.1f%% | %.1f%% |\n", r.Name, r.APGR, sd, 100*r.Share50, 100*r.Share80)
		} else {
			fmt.Fprintf(w, "| %s | %.3f | %.1f%% | %.1f%% |\n", r.Name, r.APGR, 100*r.Share50, 100*r.Share80)
		}
	}
	if res.Bootstrap > 1 {
		fmt.Fprintf(w, "(± s.d.: bootstrap over %d resamples of these %d questions; random is the expected curve of random routing, so 0)\n", res.Bootstrap, res.N)
	}
	fmt.Fprintf(w, "RouteLLM's APGR (ten quantile bins of the scores, as routellm/evals computes it): router %.3f, longer prompt to strong %.3f\n", res.Router.RouteLLMAPGR, res.Rows[1].RouteLLMAPGR)
	fmt.Fprintf(w, "\n| strong share | router accuracy | random accuracy |\n|---:|---:|---:|\n")
	for s := 0; s <= 100; s += 10 {
		f := float64(s) / 100
		fmt.Fprintf(w, "| %d%% | %.1f%% | %.1f%% |\n", s, 100*m.AccuracyAt(f), 100*(m.WeakAccuracy+f*(m.StrongAccuracy-m.WeakAccuracy)))
	}
	fmt.Fprintf(w, "\ndecision time: %s per prompt\n", res.DecideTime.Round(100*time.Nanosecond))
}
