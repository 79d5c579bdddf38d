package main

import (
	"fmt"
	"math"

	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

// experiment cross-validates a raw learner (no length blend, no tuning
// third) on the training half: "gain" (route-train's label), "contrast"
// (logit P(strong) - logit P(weak), one linear model) or "probdiff"
// (P(strong) - P(weak) from the same two models: not linear, so not a
// Model).
func experiment(name string, train []difficulty.Example, o difficulty.RobustOptions, k, reps int) (difficulty.CVResult, error) {
	var fit func([]difficulty.Example) func(string) float64
	switch name {
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
	case "length":
		fit = func([]difficulty.Example) func(string) float64 {
			return func(p string) float64 { return math.Log(float64(len(p))) }
		}
	default:
		return difficulty.CVResult{}, fmt.Errorf("unknown -exp %q", name)
	}
	return difficulty.CrossValidateScorer(train, fit, k, reps), nil
}
