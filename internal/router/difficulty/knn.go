package difficulty

import (
	"math"
	"slices"
)

// Nearest neighbours over the training prompts: an experiment
// (go run ./internal/router/difficulty/cmd/cv -exp knn or -exp knnblend,
// docs/routing.md), not part of the router file. Scoring compares a prompt
// with every stored training prompt, thousands of times the work of the
// linear model.
//
// Fixed before any result was seen: prompts are binary vectors of their
// distinct words hashed into KNNBuckets buckets (wordBuckets, no bigrams),
// weighted by idf log((1+N)/(1+df)) and scaled to unit length; similarity
// is the cosine; a prompt's score is the mean gain label (LabelGain) of its
// k most similar training prompts, each weighted by its (non-negative)
// similarity.

// KNNBuckets is the number of hashed word buckets of the kNN vectors.
const KNNBuckets = 4096

// KNNKs are the neighbour counts the tuning third chooses from.
var KNNKs = []int{5, 10, 20, 50, 100, 200}

// KNNGammas are the weights of the standardised kNN score added to the
// standardised logit of route-train's model (0: route-train's model alone).
var KNNGammas = []float64{0, 0.25, 0.5, 1, 2, 4}

// KNN holds the training prompts' vectors and labels.
type KNN struct {
	idf  []float64
	docs [][]knnTerm
	gain []float64
	mean float64 // mean gain: the score when no neighbour shares a word
}

type knnTerm struct {
	b int32
	w float32
}

// FitKNN stores examples' vectors and gain labels.
func FitKNN(examples []Example) *KNN {
	n := len(examples)
	k := &KNN{idf: make([]float64, KNNBuckets), docs: make([][]knnTerm, n), gain: make([]float64, n)}
	df := make([]float64, KNNBuckets)
	for i := range examples {
		wordBuckets(examples[i].Prompt, KNNBuckets, false, func(b int, _ float64) {
			df[b]++
			k.docs[i] = append(k.docs[i], knnTerm{b: int32(b)})
		})
		k.gain[i] = LabelGain(&examples[i])
		k.mean += k.gain[i] / float64(n)
	}
	for b := range df {
		k.idf[b] = math.Log((1 + float64(n)) / (1 + df[b]))
	}
	for _, d := range k.docs {
		var ss float64
		for _, t := range d {
			ss += k.idf[t.b] * k.idf[t.b]
		}
		for j := range d {
			if ss > 0 {
				d[j].w = float32(k.idf[d[j].b] / math.Sqrt(ss))
			}
		}
	}
	return k
}

// Scores returns the prompt's kNN score for each neighbour count of ks
// (ascending). It allocates; it is for experiments.
func (k *KNN) Scores(prompt string, ks []int) []float64 {
	q := make([]float64, KNNBuckets)
	var ss float64
	wordBuckets(prompt, KNNBuckets, false, func(b int, _ float64) {
		q[b] = k.idf[b]
		ss += k.idf[b] * k.idf[b]
	})
	out := make([]float64, len(ks))
	if ss == 0 {
		for i := range out {
			out[i] = k.mean
		}
		return out
	}
	type nb struct {
		sim float64
		i   int
	}
	nbs := make([]nb, len(k.docs))
	for i, d := range k.docs {
		var s float64
		for _, t := range d {
			s += q[t.b] * float64(t.w)
		}
		nbs[i] = nb{s / math.Sqrt(ss), i}
	}
	slices.SortFunc(nbs, func(a, b nb) int {
		if a.sim != b.sim {
			if a.sim > b.sim {
				return -1
			}
			return 1
		}
		return a.i - b.i
	})
	var sw, sg float64
	j := 0
	for i, kk := range ks {
		for ; j < kk && j < len(nbs); j++ {
			if w := nbs[j].sim; w > 0 {
				sw += w
				sg += w * k.gain[nbs[j].i]
			}
		}
		out[i] = k.mean
		if sw > 0 {
			out[i] = sg / sw
		}
	}
	return out
}

// KNNResult is a nearest-neighbour scorer trained by TrainKNN or
// TrainKNNBlend: Gamma times the standardised kNN score of K neighbours
// plus, unless Alone, the standardised logit of route-train's model.
type KNNResult struct {
	Lin          *Model
	KNN          *KNN
	K            int
	Gamma        float64
	Alone        bool
	sdLin, sdKNN float64
}

// Score is the blended score (higher: send to the strong model).
func (r *KNNResult) Score(prompt string) float64 {
	v := r.KNN.Scores(prompt, []int{r.K})[0]
	if r.Alone {
		return v
	}
	return logit(r.Lin.Score(prompt))/r.sdLin + r.Gamma*v/r.sdKNN
}

// knnThirds splits examples into a part to fit on and a tuning third by a
// hash of the prompt other than TrainAndBlend's, so TrainAndBlend run on
// the first part still has a tuning third of its own.
func knnThirds(examples []Example) (fit, tune []Example) {
	for _, e := range examples {
		if fnv32("knn\x00"+e.Prompt)%3 == 0 {
			tune = append(tune, e)
		} else {
			fit = append(fit, e)
		}
	}
	return fit, tune
}

// TrainKNN picks the neighbour count (KNNKs) by APGR on a tuning third of
// examples and stores all examples: kNN alone, no linear model.
func TrainKNN(examples []Example) *KNNResult {
	fit, tune := knnThirds(examples)
	r := &KNNResult{K: KNNKs[0], Alone: true, Gamma: 1}
	if len(fit) > 0 && len(tune) > 0 {
		kn := FitKNN(fit)
		s := make([][]float64, len(KNNKs))
		for j := range s {
			s[j] = make([]float64, len(tune))
		}
		for i := range tune {
			for j, v := range kn.Scores(tune[i].Prompt, KNNKs) {
				s[j][i] = v
			}
		}
		best := -1.0
		for j, kk := range KNNKs {
			if v := Evaluate(tune, s[j]).APGR; v > best+1e-9 {
				best, r.K = v, kk
			}
		}
	}
	r.KNN = FitKNN(examples)
	return r
}

// TrainKNNBlend runs route-train's procedure (TrainAndBlend with o) on two
// thirds of examples and fits kNN on the same two thirds, picks the
// neighbour count (KNNKs) and the kNN weight (KNNGammas) by APGR on the
// other third, then refits both on all examples. Each score is divided by
// its standard deviation on the tuning third, so gamma is the kNN score's
// weight relative to the model's.
func TrainKNNBlend(examples []Example, o RobustOptions) *KNNResult {
	fit, tune := knnThirds(examples)
	r := &KNNResult{K: KNNKs[0], sdLin: 1, sdKNN: 1}
	if len(fit) > 0 && len(tune) > 0 {
		lin := TrainAndBlend(fit, o).Model
		kn := FitKNN(fit)
		zl := make([]float64, len(tune))
		zk := make([][]float64, len(KNNKs))
		for j := range zk {
			zk[j] = make([]float64, len(tune))
		}
		for i := range tune {
			zl[i] = logit(lin.Score(tune[i].Prompt))
			for j, v := range kn.Scores(tune[i].Prompt, KNNKs) {
				zk[j][i] = v
			}
		}
		r.sdLin = stdOr1(zl)
		best := -1.0
		s := make([]float64, len(tune))
		for j, kk := range KNNKs {
			sd := stdOr1(zk[j])
			for _, g := range KNNGammas {
				for i := range tune {
					s[i] = zl[i]/r.sdLin + g*zk[j][i]/sd
				}
				if v := Evaluate(tune, s).APGR; v > best+1e-9 {
					best, r.K, r.Gamma, r.sdKNN = v, kk, g, sd
				}
			}
		}
	}
	r.Lin = TrainAndBlend(examples, o).Model
	r.KNN = FitKNN(examples)
	return r
}

// stdOr1 is the standard deviation of xs, or 1 when it is 0.
func stdOr1(xs []float64) float64 {
	var m, ss float64
	for _, x := range xs {
		m += x / float64(len(xs))
	}
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	if sd := math.Sqrt(ss / float64(len(xs))); sd > 0 {
		return sd
	}
	return 1
}
