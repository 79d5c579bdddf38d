package difficulty

import (
	"math"
	"math/rand/v2"
)

// CVResult is a cross-validated estimate of a training configuration.
type CVResult struct {
	// APGR is the mean APGR of each fold's model on its held-out fold.
	APGR float64
	// SE is the standard error of APGR over the folds (which overlap in
	// training data, so it understates the uncertainty).
	SE float64
	// Folds is how many fold models were scored.
	Folds int
	// Values are the folds' APGRs in a fixed order (the same folds for
	// every configuration, so two results can be compared fold by fold).
	Values []float64
}

// CrossValidate estimates the APGR of Train(·, o) by k-fold
// cross-validation repeated reps times with fixed seeds, on examples only
// (pass the training half: the held-out half stays unseen).
func CrossValidate(examples []Example, o TrainOptions, k, reps int) CVResult {
	return CrossValidateFit(examples, func(tr []Example) *Model { return Train(tr, o) }, k, reps)
}

// CrossValidateFit is CrossValidate for any training procedure, e.g. all
// of route-train's (TrainAndBlend, its tuning third included) rerun inside
// each fold.
func CrossValidateFit(examples []Example, fit func([]Example) *Model, k, reps int) CVResult {
	return CrossValidateScorer(examples, func(tr []Example) func(string) float64 { return fit(tr).Score }, k, reps)
}

// CrossValidateScorer is CrossValidateFit for a training procedure that
// returns any scoring function (an experiment not yet a Model).
func CrossValidateScorer(examples []Example, fit func([]Example) func(string) float64, k, reps int) CVResult {
	var vals []float64
	for r := range reps {
		perm := rand.New(rand.NewPCG(uint64(r+1), 99)).Perm(len(examples))
		for f := range k {
			var tr, te []Example
			for p, i := range perm {
				if p%k == f {
					te = append(te, examples[i])
				} else {
					tr = append(tr, examples[i])
				}
			}
			score := fit(tr)
			s := make([]float64, len(te))
			for i := range te {
				s[i] = score(te[i].Prompt)
			}
			vals = append(vals, Evaluate(te, s).APGR)
		}
	}
	res := CVResult{Folds: len(vals), Values: vals}
	for _, v := range vals {
		res.APGR += v / float64(len(vals))
	}
	var ss float64
	for _, v := range vals {
		ss += (v - res.APGR) * (v - res.APGR)
	}
	if len(vals) > 1 {
		res.SE = math.Sqrt(ss/float64(len(vals)-1)) / math.Sqrt(float64(len(vals)))
	}
	return res
}

// SplitsResult is what RandomSplits measured: one value per split, in
// order.
type SplitsResult struct {
	// APGR is the trained router's APGR on each split's scored half,
	// Length the length rule's on the same half.
	APGR, Length []float64
}

// MeanSD returns the mean and sample standard deviation of xs (s.d. 0 for
// fewer than two values).
func MeanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x / float64(len(xs))
	}
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// RandomSplits trains fit on a random half of examples and scores the
// other half, n times (permutation r uses seed r+1, so the splits are the
// same for every fit). One fixed split can be lucky or unlucky; the spread
// over splits says by how much. A split whose scored half has no quality
// gap is skipped (APGR is undefined there).
func RandomSplits(examples []Example, fit func([]Example) func(string) float64, n int) SplitsResult {
	var res SplitsResult
	for r := range n {
		perm := rand.New(rand.NewPCG(uint64(r+1), 7)).Perm(len(examples))
		tr := make([]Example, 0, len(examples)/2)
		te := make([]Example, 0, len(examples)-len(examples)/2)
		for p, i := range perm {
			if p < len(examples)/2 {
				tr = append(tr, examples[i])
			} else {
				te = append(te, examples[i])
			}
		}
		score := fit(tr)
		s, l := make([]float64, len(te)), make([]float64, len(te))
		for i := range te {
			s[i], l[i] = score(te[i].Prompt), float64(len(te[i].Prompt))
		}
		m := Evaluate(te, s)
		if m.StrongAccuracy == m.WeakAccuracy {
			continue
		}
		res.APGR = append(res.APGR, m.APGR)
		res.Length = append(res.Length, Evaluate(te, l).APGR)
	}
	return res
}
