// Command cv chooses route-train options honestly: it cross-validates all
// of route-train (TrainAndBlend, tuning third included) on the training
// half of embedded recordings only, and with -heldout scores the held-out
// half once, with the bootstrap s.d., next to the length rule:
//
//	go run ./internal/router/difficulty/cmd/cv -domain gsm8k -structure
//	go run ./internal/router/difficulty/cmd/cv -domain mmlu -reps 1 -heldout
//
// -lodo instead prints the leave-one-domain-out table of the shipped
// router's training (difficulty.TrainDefault) with or without -structure.
//
// Learners: -label contrast (route-train --contrast), -boost N (route-train
// --boost N), -within (RobustOptions.WithinDomain); -exp NAME cross-validates
// a raw learner without the length blend (gain, contrast, probdiff, length)
// or nearest neighbours (knn alone, knnblend: route-train's model plus the
// kNN score); -char-ngrams is route-train --char-ngrams.
// The sixth attempt (docs/routing.md, lsa.go): -exp lsa -unlabeled FILE (a
// word space learned from unlabeled prompts, blended with route-train's
// model), -exp solution and -exp solutionblend (GSM8K's reference
// solutions, which a router never sees: an upper bound), -exp bag (route-train
// on bootstrap resamples, averaged) and -exp default (route-train's own
// procedure). -splits N scores N random half-splits of all records, as
// route-train --splits:
//
//	go run ./internal/router/difficulty/cmd/cv -domain gsm8k -label choose -reps 0 -splits 20
//
// -folds FILE writes each fold's APGR, so two runs compare fold by fold:
//
//	go run ./internal/router/difficulty/cmd/cv -domain gsm8k -reps 10 -folds a.txt
//	go run ./internal/router/difficulty/cmd/cv -domain gsm8k -reps 10 -label contrast -folds b.txt
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

func main() {
	domain := flag.String("domain", "gsm8k", "embedded recordings, comma-separated")
	buckets := flag.Int("word-buckets", 1024, "hashed word features, as route-train")
	bigrams := flag.Bool("bigrams", false, "as route-train --bigrams")
	average := flag.Bool("average", false, "as route-train --average")
	structure := flag.Bool("structure", false, "as route-train --structure")
	l2 := flag.Float64("l2", difficulty.DefaultRobustL2, "penalty on the dense weights (route-train: DefaultRobustL2)")
	k := flag.Int("k", 5, "folds")
	reps := flag.Int("reps", 3, "repeats of the k folds (0: no cross-validation)")
	heldout := flag.Bool("heldout", false, "train on the whole training half and score the held-out half")
	lodo := flag.Bool("lodo", false, "print the shipped router's leave-one-domain-out table instead")
	lodoOn := flag.String("lodo-on", "heldout", "with -lodo, score the left-out domain's heldout half (TrainDefault's table) or its train half (never used for anything else)")
	label := flag.String("label", "gain", "training label: gain (route-train's), weakwrong (1 - weak), win (strong right and weak wrong), contrast (two models, strong minus weak)")
	flag.StringVar(&foldsFile, "folds", "", "write each fold's APGR to this file, one a line (for paired comparisons)")
	flag.BoolVar(&within, "within", false, "fit within-domain differences only (RobustOptions.WithinDomain)")
	flag.StringVar(&expName, "exp", "", "cross-validate a raw learner instead of route-train: gain, contrast, probdiff, length")
	flag.IntVar(&boostRounds, "boost", 0, "boosted stumps (RobustOptions.Boost)")
	flag.BoolVar(&charNgrams, "char-ngrams", false, "as route-train --char-ngrams")
	flag.StringVar(&unlabeledFile, "unlabeled", "", "-exp lsa: JSON lines whose \"question\" are unlabeled prompts")
	flag.IntVar(&splits, "splits", 0, "also score N random half-splits of all records (-exp NAME, or route-train's procedure)")
	flag.BoolVar(&verbose, "v", false, "print what each fold chose (-exp knnblend)")
	flag.Parse()
	labelName = *label
	var err error
	if *lodo && *lodoOn == "train" {
		err = lodoTrain(*structure, *label == "contrast")
	} else {
		err = run(*domain, *buckets, *bigrams, *average, *structure, *l2, *k, *reps, *heldout, *lodo)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cv:", err)
		os.Exit(1)
	}
}

var (
	labelName, foldsFile string
	within               bool
	expName              string
	boostRounds          int
	charNgrams, verbose  bool
	unlabeledFile        string
	splits               int
	solutionTrain        []difficulty.Example
)

func run(domain string, buckets int, bigrams, average, structure bool, l2 float64, k, reps int, heldout, lodo bool) error {
	start := time.Now()
	if lodo {
		o := difficulty.RobustOptions{Buckets: difficulty.DefaultBuckets, L2: difficulty.DefaultRobustL2, Structure: structure}
		_, alpha, table, err := difficulty.TrainDefault(difficulty.DefaultGrid, o)
		if err != nil {
			return err
		}
		fmt.Print(table)
		fmt.Printf("structure %v: chosen blend weight %g (%s)\n", structure, alpha, time.Since(start).Round(time.Second))
		return nil
	}
	var all []difficulty.Example
	var err error
	for d := range strings.SplitSeq(domain, ",") {
		ex, err := difficulty.LoadDomain(d)
		if err != nil {
			return err
		}
		all = append(all, ex...)
	}
	train, held := difficulty.Split(all)
	solutionTrain = train
	o := difficulty.RouteTrainOptions(buckets, bigrams, average, structure, "cv")
	o.L2 = l2
	o.WithinDomain = within
	o.Boost = boostRounds
	o.CharNgrams = charNgrams
	switch labelName {
	case "gain":
	case "weakwrong":
		o.Label = func(e *difficulty.Example) float64 { return 1 - e.Weak }
	case "win":
		o.Label = func(e *difficulty.Example) float64 { return e.Strong * (1 - e.Weak) }
	case "contrast":
		o.Contrast = true
	case "choose":
		o.Choose = true
	default:
		return fmt.Errorf("unknown -label %q", labelName)
	}
	fit := func(ex []difficulty.Example) *difficulty.Model { return difficulty.TrainAndBlend(ex, o).Model }
	name := fmt.Sprintf("chars=%v boost=%d within=%v %s label=%s buckets=%d bigrams=%v average=%v structure=%v l2=%g", charNgrams, boostRounds, within, domain, labelName, buckets, bigrams, average, structure, l2)
	if reps > 0 {
		var cv difficulty.CVResult
		if expName == "" {
			cv = difficulty.CrossValidateFit(train, fit, k, reps)
		} else {
			name = "raw " + expName + " " + name
			if cv, err = experiment(expName, train, o, k, reps); err != nil {
				return err
			}
		}
		fmt.Printf("%s: CV on %d training records, %d folds: APGR %.4f ± %.4f (s.e.) (%s)\n", name, len(train), cv.Folds, cv.APGR, cv.SE, time.Since(start).Round(time.Second))
		if foldsFile != "" {
			var b strings.Builder
			for _, v := range cv.Values {
				fmt.Fprintf(&b, "%.6f\n", v)
			}
			if err := os.WriteFile(foldsFile, []byte(b.String()), 0o644); err != nil {
				return err
			}
		}
	}
	if splits > 0 {
		name := expName
		if name == "" {
			name = "default"
		}
		fit, err := expFit(name, o)
		if err != nil {
			return err
		}
		randomSplits(all, fit, splits)
	}
	if heldout && expName != "" {
		fit, err := expFit(expName, o)
		if err != nil {
			return err
		}
		sc := fit(train)
		s := make([]float64, len(held))
		for i := range held {
			s[i] = sc(held[i].Prompt)
		}
		fmt.Printf("%s: held-out %d records: APGR %.3f ± %.3f\n", name, len(held), difficulty.Evaluate(held, s).APGR, difficulty.BootstrapSD(held, s, 500))
		return nil
	}
	if heldout {
		res := difficulty.TrainAndBlend(train, o)
		score := func(f func(string) float64) (float64, float64) {
			s := make([]float64, len(held))
			for i := range held {
				s[i] = f(held[i].Prompt)
			}
			return difficulty.Evaluate(held, s).APGR, difficulty.BootstrapSD(held, s, 500)
		}
		a, sd := score(res.Model.Score)
		la, lsd := score(func(p string) float64 { return float64(len(p)) })
		fmt.Printf("%s: held-out %d records: APGR %.3f ± %.3f (model %g, topics %g, learner %s); length rule %.3f ± %.3f\n", name, len(held), a, sd, res.Alpha, res.Beta, res.Learner, la, lsd)
	}
	return nil
}

// lodoTrain is TrainDefault's leave-one-domain-out table, scored on the
// left-out domain's training half instead of its held-out half: the left-out
// domain is not trained on either way, and the held-out halves stay unseen
// while choosing.
func lodoTrain(structure, contrast bool) error {
	o := difficulty.RobustOptions{Buckets: difficulty.DefaultBuckets, L2: difficulty.DefaultRobustL2, Structure: structure, Contrast: contrast, WithinDomain: within, Boost: boostRounds}
	train := map[string][]difficulty.Example{}
	for _, d := range difficulty.Domains {
		ex, err := difficulty.LoadDomain(d)
		if err != nil {
			return err
		}
		train[d], _ = difficulty.Split(ex)
	}
	apgr := func(sc func(string) float64, ex []difficulty.Example) float64 {
		s := make([]float64, len(ex))
		for i := range ex {
			s[i] = sc(ex[i].Prompt)
		}
		return difficulty.Evaluate(ex, s).APGR
	}
	fmt.Printf("structure %v contrast %v within %v, left-out domain's training half scored\n| left out | length rule |", structure, contrast, within)
	for _, a := range difficulty.DefaultGrid {
		fmt.Printf(" blend %g |", a)
	}
	fmt.Println()
	for _, d := range difficulty.Domains {
		var tr []difficulty.Example
		for _, o2 := range difficulty.Domains {
			if o2 != d {
				tr = append(tr, train[o2]...)
			}
		}
		m := difficulty.TrainRobust(tr, o)
		fmt.Printf("| %s | %.3f |", d, apgr(func(p string) float64 { return float64(len(p)) }, train[d]))
		for _, a := range difficulty.DefaultGrid {
			fmt.Printf(" %.3f |", apgr(difficulty.Blend(m, tr, a).Score, train[d]))
		}
		fmt.Println()
	}
	return nil
}
