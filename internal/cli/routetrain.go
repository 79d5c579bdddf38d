package cli

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

func init() { extraCommands = append(extraCommands, routeTrainCmd) }

// loadRouteData reads --data FILE or --domain NAME[,NAME] (nil, "" when
// neither is given: RouteEval's default).
func loadRouteData(data, domain string) ([]difficulty.Example, string, error) {
	switch {
	case data != "" && domain != "":
		return nil, "", errors.New("give --data or --domain, not both")
	case data != "":
		ex, err := difficulty.LoadFile(data, difficulty.Columns{})
		return ex, data, err
	case domain != "":
		var all []difficulty.Example
		for d := range strings.SplitSeq(domain, ",") {
			ex, err := difficulty.LoadDomain(strings.TrimSpace(d))
			if err != nil {
				return nil, "", err
			}
			all = append(all, ex...)
		}
		return all, domain + " recordings", nil
	}
	return nil, "", nil
}

func loadRouterFile(path string) (*difficulty.Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := difficulty.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func routeTrainCmd(e *env) *cobra.Command {
	var data, domain, out, split string
	var buckets, boostRounds, splits int
	var bigrams, charNgrams, average, structure, contrast, choose bool
	cmd := &cobra.Command{
		Use:   "route-train (--data FILE | --domain NAME) --out router.json",
		Short: "Train a prompt router on recorded answers of a weak and a strong model",
		Long: `Train the difficulty router on a CSV, TSV, JSON Lines or JSON array of (prompt, weak, strong) records
(weak and strong: true/false or a score in [0, 1]; columns prompt, weak,
strong, optional domain), or on embedded recordings (--domain gsm8k,mmlu,mt_bench).

The model is blended with the "longer prompts to the strong model" rule; the
blend weight, and the learner (label gain or contrast, with or without 50
boosted stumps; --choose=false keeps the gain label alone), are chosen on a
third of the training records held back for it (0 = the length rule alone,
when nothing learned generalises). By default only
the training half (a fixed hash of the prompt) is used, so
"fulcrum route-eval --data FILE --router router.json" on the held-out half is a
fair estimate; --split all trains on everything.

--splits N also repeats all of the above on N random half-splits of every record
given (train on one half, score the other; the router file is unaffected) and
prints the mean and standard deviation of APGR next to the length rule's: one
fixed split can be lucky or unlucky, and this says by how much.

Load the file in a route with "strategy: router" and "router_file: router.json";
strong_share then maps to a threshold on the training prompts' own scores.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkChoice("split", split, "train", "all"); err != nil {
				return err
			}
			if out == "" {
				return errors.New("--out is required")
			}
			if buckets < 0 || buckets > 4096 {
				return errors.New("--word-buckets must be between 0 and 4096")
			}
			if splits < 0 || splits > 1000 {
				return errors.New("--splits must be between 0 and 1000")
			}
			if boostRounds < 0 || boostRounds > 1000 {
				return errors.New("--boost must be between 0 and 1000")
			}
			ex, label, err := loadRouteData(data, domain)
			if err != nil {
				return err
			}
			if ex == nil {
				return errors.New("give --data FILE or --domain NAME")
			}
			all := ex
			if split == "train" {
				ex, _ = difficulty.Split(ex)
			}
			if len(ex) < 30 {
				return fmt.Errorf("%d training records: need at least 30", len(ex))
			}
			if !slices.ContainsFunc(ex, func(e difficulty.Example) bool { return e.Strong != e.Weak }) {
				return fmt.Errorf("the weak and the strong model did equally well on every one of the %d training records: there is nothing for a router to learn", len(ex))
			}
			if f := cmd.Flags(); (f.Changed("contrast") || f.Changed("boost")) && !f.Changed("choose") {
				choose = false // a learner given is a learner meant
			}
			o := difficulty.RouteTrainOptions(buckets, bigrams, average, structure, "")
			o.Contrast, o.Boost, o.Choose = contrast, boostRounds, choose
			o.CharNgrams = charNgrams
			res := difficulty.TrainAndBlend(ex, o)
			res.Model.Label = learnerLabel(res.Learner) + " on " + label
			b, err := res.Model.Marshal()
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
				return err
			}
			var tune, learners []string
			ls := []difficulty.Learner{res.Learner}
			if choose {
				ls = difficulty.Learners
			}
			for _, l := range ls {
				prefix, best := "", -1.0
				if choose {
					prefix = l.String() + " "
				}
				for _, a := range difficulty.Alphas {
					for _, b := range difficulty.Betas {
						v, ok := res.TuneAPGR[prefix+fmt.Sprintf("%g/%g", a, b)]
						if !ok {
							continue
						}
						best = max(best, v)
						if l == res.Learner {
							tune = append(tune, fmt.Sprintf("%g/%g: %.3f", a, b, v))
						}
					}
				}
				if choose {
					learners = append(learners, fmt.Sprintf("%s %.3f", l, best))
				}
			}
			chosen := ""
			if choose {
				chosen = fmt.Sprintf("learner %s chosen on the tuning third (best APGR by learner: %s); ", res.Learner, strings.Join(learners, ", "))
			}
			fmt.Fprintf(e.stderr, "trained on %d records of %s (%s split), %d topics; %sweights model %g, topics %g chosen on the tuning third (APGR by model/topic weight: %s); wrote %s\n",
				len(ex), label, split, res.Topics, chosen, res.Alpha, res.Beta, strings.Join(tune, ", "), out)
			if splits > 0 {
				reportSplits(e, all, o, splits)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "", "CSV, TSV, JSONL or JSON array of (prompt, weak, strong) records")
	f.StringVar(&domain, "domain", "", "embedded recordings: gsm8k, mmlu, mt_bench (comma-separated)")
	f.StringVarP(&out, "out", "o", "", "router file to write")
	f.StringVar(&split, "split", "train", "train (the hash-selected training half) or all")
	f.IntVar(&buckets, "word-buckets", 1024, "hashed word features (0: none)")
	f.BoolVar(&bigrams, "bigrams", false, "hash pairs of consecutive words too (with --word-buckets)")
	f.BoolVar(&charNgrams, "char-ngrams", false, "hash the character 3- to 5-grams of every word too (with --word-buckets; docs/routing.md)")
	f.BoolVar(&average, "average", false, "average the models of word penalties 0.001, 0.003 and 0.01 (3x the training time)")
	f.BoolVar(&contrast, "contrast", false, "fit the strong and the weak model's quality separately and rank by the difference of their logits (docs/routing.md: better in cross-validation on GSM8K, not on MMLU)")
	f.BoolVar(&choose, "choose", true, "pick the learner (gain or contrast label, with or without 50 boosted stumps) on the tuning third with the blend weights (about 3.5x the training time; off when --contrast or --boost is given)")
	f.IntVar(&splits, "splits", 0, "also estimate APGR over this many random half-splits of all records: mean and s.d., next to the length rule (each split trains once more)")
	f.IntVar(&boostRounds, "boost", 0, "add this many boosted stumps over the dense features to the linear model (0: none)")
	f.BoolVar(&structure, "structure", false, "add the structure features: quantities, operation cues, question form, answer options (docs/routing.md: no held-out gain)")
	return cmd
}

// learnerLabel says what a router file's model predicts.
func learnerLabel(l difficulty.Learner) string {
	s := "gain (1 + strong - weak) / 2"
	if l.Contrast {
		s = "logit P(strong right) - logit P(weak right)"
	}
	if l.Boost > 0 {
		s += fmt.Sprintf(", with %d boosted stumps", l.Boost)
	}
	return s
}

// reportSplits prints route-train's APGR over n random half-splits of all
// (difficulty.RandomSplits) next to the length rule's on the same halves.
func reportSplits(e *env, all []difficulty.Example, o difficulty.RobustOptions, n int) {
	res := difficulty.RandomSplits(all, func(tr []difficulty.Example) func(string) float64 {
		return difficulty.TrainAndBlend(tr, o).Model.Score
	}, n)
	if len(res.APGR) == 0 {
		fmt.Fprintf(e.stderr, "random half-splits: none of the %d had a quality gap on its scored half\n", n)
		return
	}
	diff := make([]float64, len(res.APGR))
	above := 0
	for i := range diff {
		diff[i] = res.APGR[i] - res.Length[i]
		if diff[i] > 0 {
			above++
		}
	}
	m, sd := difficulty.MeanSD(res.APGR)
	lm, lsd := difficulty.MeanSD(res.Length)
	dm, dsd := difficulty.MeanSD(diff)
	fmt.Fprintf(e.stderr, "%d random half-splits of %d records (trained on one half, the other scored): APGR %.3f ± %.3f (mean ± s.d.), length rule %.3f ± %.3f; router − length rule %+.3f ± %.3f, above it in %d of %d\n",
		len(res.APGR), len(all), m, sd, lm, lsd, dm, dsd, above, len(res.APGR))
}
