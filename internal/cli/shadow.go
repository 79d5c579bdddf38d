package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/eval"
	"github.com/fulcrumhq/fulcrum/internal/shadow"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

func init() { extraCommands = append(extraCommands, shadowCmd) }

func shadowCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "shadow",
		Short: "Report on shadow evaluation: candidates compared with the live answers on sampled traffic",
	}
	cmd.AddCommand(shadowReportCmd(e), shadowExportCmd(e))
	return cmd
}

// shadowFlags are the flags both subcommands share.
type shadowFlags struct {
	cfgPath, candidate, route, out string
	days                           int
}

func (f *shadowFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.cfgPath, "config", "c", "", "gateway config (its storage holds the comparisons)")
	fl.IntVar(&f.days, "days", 30, "how many days of comparisons to read")
	fl.StringVar(&f.candidate, "candidate", "", "only this candidate")
	fl.StringVar(&f.route, "route", "", "only comparisons of this model or route")
	fl.StringVarP(&f.out, "out", "o", "", "write to this file instead of standard output")
}

// read opens the store and reads the comparisons of the period.
func (f *shadowFlags) read(ctx context.Context, e *env, now time.Time) (store.Store, []store.ShadowResult, time.Time, error) {
	if f.days <= 0 {
		return nil, nil, time.Time{}, errors.New("--days must be positive")
	}
	st, _, err := recordsStore(ctx, e, f.cfgPath)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	sh, ok := st.(store.Shadows)
	if !ok {
		st.Close()
		return nil, nil, time.Time{}, errors.New("this store does not keep shadow comparisons")
	}
	from := now.AddDate(0, 0, -f.days)
	rows, err := sh.ShadowResults(ctx, store.ShadowFilter{From: from, To: now, Candidate: f.candidate, Route: f.route})
	if err != nil {
		st.Close()
		return nil, nil, time.Time{}, err
	}
	return st, rows, from, nil
}

func (f *shadowFlags) writer(e *env) (io.Writer, func() error, error) {
	if f.out == "" {
		return e.stdout, func() error { return nil }, nil
	}
	file, err := os.Create(f.out)
	if err != nil {
		return nil, nil, err
	}
	return file, file.Close, nil
}

func shadowReportCmd(e *env) *cobra.Command {
	var f shadowFlags
	var format string
	var asJSON, asHTML bool
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Agreement and win rates with confidence intervals, quality by data class and route, latency, cost and the monthly cost if promoted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case asJSON:
				format = "json"
			case asHTML:
				format = "html"
			}
			if err := checkChoice("format", format, "table", "json", "html"); err != nil {
				return err
			}
			now := time.Now().UTC()
			st, rows, from, err := f.read(cmd.Context(), e, now)
			if err != nil {
				return err
			}
			defer st.Close()
			rep := shadow.Summarise(rows, from, now, shadow.UsageVolume(cmd.Context(), st))
			w, done, err := f.writer(e)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				err = shadow.WriteJSON(w, rep)
			case "html":
				err = shadow.WriteHTML(w, rep)
			default:
				err = shadow.WriteTable(w, rep)
			}
			return errors.Join(err, done())
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "table, json or html")
	cmd.Flags().BoolVar(&asJSON, "json", false, "same as --format json")
	cmd.Flags().BoolVar(&asHTML, "html", false, "same as --format html (self-contained, charts inline)")
	return cmd
}

func shadowExportCmd(e *env) *cobra.Command {
	var f shadowFlags
	var format, weak string
	cmd := &cobra.Command{
		Use:   "export --format eval|route-train",
		Short: "Export comparisons as eval evidence (for advise --eval) or router training labels (for route-train --data)",
		Long: `Export the stored shadow comparisons for the other tools:

  --format eval         an eval results.json (what "fulcrum eval" writes): each
                        candidate's accuracy is its agreement with the live
                        answer; each live model is the reference at 1. Pass it
                        to "fulcrum advise --eval". ("fulcrum advise --measured"
                        reads the comparisons from the store by itself.)
  --format route-train  JSON Lines of {prompt, weak, strong, domain} for
                        "fulcrum route-train --data labels.jsonl"; only
                        comparisons whose rule sets record_prompts carry a
                        prompt.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkChoice("format", format, "eval", "route-train"); err != nil {
				return err
			}
			if err := checkChoice("weak", weak, "candidate", "live"); err != nil {
				return err
			}
			st, rows, _, err := f.read(cmd.Context(), e, time.Now().UTC())
			if err != nil {
				return err
			}
			defer st.Close()
			w, done, err := f.writer(e)
			if err != nil {
				return err
			}
			switch format {
			case "eval":
				rep := shadow.ToEvalReport(rows)
				if rep == nil {
					done()
					return errors.New("no shadow comparisons in this period")
				}
				err = eval.WriteJSON(w, rep)
			default:
				labels := shadow.RouteLabels(rows, weak)
				if len(labels) == 0 {
					done()
					return fmt.Errorf("none of the %d comparisons has a prompt: set record_prompts on the shadow rule", len(rows))
				}
				err = shadow.WriteRouteLabels(w, labels)
			}
			return errors.Join(err, done())
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&format, "format", "", "eval or route-train")
	cmd.Flags().StringVar(&weak, "weak", "candidate", "route-train: which side is the weak model, candidate or live")
	return cmd
}

// shadowEvidence reads the last days of shadow comparisons as an eval
// report for advise (nil when there are none or the store keeps none).
func shadowEvidence(ctx context.Context, st store.Store, days int) (*eval.Report, error) {
	sh, ok := st.(store.Shadows)
	if !ok {
		return nil, nil
	}
	rows, err := sh.ShadowResults(ctx, store.ShadowFilter{From: time.Now().AddDate(0, 0, -days)})
	if err != nil {
		return nil, err
	}
	return shadow.ToEvalReport(rows), nil
}
