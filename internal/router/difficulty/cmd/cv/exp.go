package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

// experiment cross-validates an experimental learner on the training half.
func experiment(name string, train []difficulty.Example, o difficulty.RobustOptions, k, reps int) (difficulty.CVResult, error) {
	fit, err := expFit(name, o)
	if err != nil {
		return difficulty.CVResult{}, err
	}
	return difficulty.CrossValidateScorer(train, fit, k, reps), nil
}

// expFit is an experimental learner: a raw one (no length blend, no tuning
// third): "gain" (route-train's label), "contrast" (logit P(strong) - logit
// P(weak), one linear model), "probdiff" (P(strong) - P(weak) from the same
// two models: not linear, so not a Model) or "length"; or nearest
// neighbours over the training prompts: "knn" (alone, the neighbour count
// chosen on a tuning third) and "knnblend" (route-train's whole procedure
// with o plus gamma times the kNN score, neighbour count and gamma chosen on
// a tuning third: difficulty.TrainKNNBlend).
func expFit(name string, o difficulty.RobustOptions) (func([]difficulty.Example) func(string) float64, error) {
	var fit func([]difficulty.Example) func(string) float64
	switch name {
	case "knn":
		fit = func(tr []difficulty.Example) func(string) float64 { return difficulty.TrainKNN(tr).Score }
	case "knnblend":
		fit = func(tr []difficulty.Example) func(string) float64 {
			r := difficulty.TrainKNNBlend(tr, o)
			if verbose {
				fmt.Printf("  knnblend on %d: k %d gamma %g\n", len(tr), r.K, r.Gamma)
			}
			return r.Score
		}
	case "gain":
		fit = func(tr []difficulty.Example) func(string) float64 { return difficulty.TrainRobust(tr, o).Score }
	case "contrast":
		o.Contrast = true
		fit = func(tr []difficulty.Example) func(string) float64 { return difficulty.TrainRobust(tr, o).Score }
	case "probdiff":
		fit = func(tr []difficulty.Example) func(string) float64 {
			os, ow := o, o
			os.Label = func(e *difficulty.Example) float64 { return e.Strong }
			ow.Label = func(e *difficulty.Example) float64 { return e.Weak }
			ms, mw := difficulty.TrainRobust(tr, os), difficulty.TrainRobust(tr, ow)
			return func(p string) float64 { return ms.Score(p) - mw.Score(p) }
		}
	case "lsa":
		if unlabeledFile == "" {
			return nil, fmt.Errorf("-exp lsa needs -unlabeled FILE")
		}
		u, err := readUnlabeled(unlabeledFile)
		if err != nil {
			return nil, err
		}
		fit = lsaFit(u, o)
	case "solution":
		f, err := solutionReport(solutionTrain)
		if err != nil {
			return nil, err
		}
		fit = f
	case "bag":
		fit = bagFit(o)
	case "solutionblend":
		if _, err := solutionReport(solutionTrain); err != nil {
			return nil, err
		}
		sol, err := solutionFeatures()
		if err != nil {
			return nil, err
		}
		feat := func(p string) []float64 {
			return append(append([]float64(nil), sol[strings.TrimSpace(p)]...), math.Log(float64(len(p)+1)))
		}
		fit = func(tr []difficulty.Example) func(string) float64 { return blendWith(tr, feat, o) }
	case "default":
		fit = func(tr []difficulty.Example) func(string) float64 { return difficulty.TrainAndBlend(tr, o).Model.Score }
	case "length":
		fit = func([]difficulty.Example) func(string) float64 {
			return func(p string) float64 { return math.Log(float64(len(p))) }
		}
	default:
		return nil, fmt.Errorf("unknown -exp %q", name)
	}
	return fit, nil
}
