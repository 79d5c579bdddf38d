package difficulty

import (
	"fmt"
	"math"
	"sort"
)

// Topics is a naive Bayes classifier of a prompt's topic (the domain
// labels of the training data, e.g. MMLU subjects) over hashed words; the
// prompt's topic score is the expected gain of its topics, P(topic | prompt)
// weighed. It lets a router learn that some subjects gain more from the
// strong model than others, from the words that mark them.
type Topics struct {
	// Names and Gain are each topic's label and mean training gain.
	Names []string  `json:"names"`
	Gain  []float64 `json:"gain"`
	// LogPrior is log P(topic); LogLik[t][b] is log P(bucket b | topic t)
	// over len(LogLik[t]) word buckets.
	LogPrior []float64   `json:"log_prior"`
	LogLik   [][]float64 `json:"log_lik"`
	// Temp sharpens (below 1: flattens) the posterior.
	Temp float64 `json:"temp"`
	// Mean and Std standardise the topic score on the training prompts;
	// Weight is its weight in the logit.
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	Weight float64 `json:"weight"`
}

// minTopic is the fewest training prompts a topic needs.
const minTopic = 20

// FitTopics fits the classifier on examples' Domain labels; nil when fewer
// than two labels have minTopic examples.
func FitTopics(examples []Example, buckets int) *Topics {
	n := map[string]int{}
	for _, e := range examples {
		n[e.Domain]++
	}
	var names []string
	for d, k := range n {
		if d != "" && k >= minTopic {
			names = append(names, d)
		}
	}
	if len(names) < 2 {
		return nil
	}
	sort.Strings(names)
	idx := map[string]int{}
	for i, d := range names {
		idx[d] = i
	}
	c := len(names)
	t := &Topics{Names: names, Gain: make([]float64, c), LogPrior: make([]float64, c), LogLik: make([][]float64, c), Temp: 0.5}
	cnt := make([][]float64, c)
	tot := make([]float64, c)
	num := make([]float64, c)
	for i := range cnt {
		cnt[i] = make([]float64, buckets)
	}
	for i := range examples {
		k, ok := idx[examples[i].Domain]
		if !ok {
			continue
		}
		num[k]++
		t.Gain[k] += LabelGain(&examples[i])
		wordBuckets(examples[i].Prompt, buckets, false, func(b int, _ float64) { cnt[k][b]++; tot[k]++ })
	}
	var all float64
	for _, v := range num {
		all += v
	}
	const alpha = 0.5 // add-alpha smoothing
	for k := range names {
		t.Gain[k] /= num[k]
		t.LogPrior[k] = math.Log(num[k] / all)
		t.LogLik[k] = make([]float64, buckets)
		for b := range buckets {
			t.LogLik[k][b] = math.Log((cnt[k][b] + alpha) / (tot[k] + alpha*float64(buckets)))
		}
	}
	var s, ss float64
	for i := range examples {
		v := t.raw(examples[i].Prompt)
		s += v
		ss += v * v
	}
	m := float64(len(examples))
	t.Mean = s / m
	t.Std = math.Sqrt(math.Max(ss/m-t.Mean*t.Mean, 1e-12))
	return t
}

// raw is the expected gain under the topic posterior.
func (t *Topics) raw(prompt string) float64 {
	var buf [128]float64
	lp := buf[:0]
	if len(t.LogPrior) > len(buf) {
		lp = make([]float64, 0, len(t.LogPrior))
	}
	lp = append(lp, t.LogPrior...)
	buckets := len(t.LogLik[0])
	wordBuckets(prompt, buckets, false, func(b int, _ float64) {
		for k := range lp {
			lp[k] += t.LogLik[k][b]
		}
	})
	mx := math.Inf(-1)
	for _, v := range lp {
		mx = math.Max(mx, v)
	}
	var z, s float64
	for k, v := range lp {
		w := math.Exp((v - mx) * t.Temp)
		z += w
		s += w * t.Gain[k]
	}
	return s / z
}

// logit is the topic score's contribution to the router's logit.
func (t *Topics) logit(prompt string) float64 {
	return t.Weight * (t.raw(prompt) - t.Mean) / t.Std
}

func (t *Topics) check() error {
	c := len(t.Names)
	if c < 2 || len(t.Gain) != c || len(t.LogPrior) != c || len(t.LogLik) != c || t.Std <= 0 {
		return fmt.Errorf("difficulty: topics: %d names, %d gains, %d priors, %d likelihood rows, std %g", c, len(t.Gain), len(t.LogPrior), len(t.LogLik), t.Std)
	}
	b := len(t.LogLik[0])
	if b < 1 || b > 4096 {
		return fmt.Errorf("difficulty: topics: %d word buckets, want 1 to 4096", b)
	}
	for _, row := range t.LogLik {
		if len(row) != b {
			return fmt.Errorf("difficulty: topics: likelihood rows of different lengths")
		}
	}
	return nil
}
