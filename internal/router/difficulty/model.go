// Package difficulty scores how much a prompt gains from a strong model over
// a weak one, so the prompt router can send the prompts that gain most to
// the strong model.
//
// The model is a logistic regression over a screened subset of dense
// features of the prompt (length, sentences, how many numbers and of what
// kind and size, vocabulary, names, and counts of cue words such as "each",
// "twice" or "how much"), optionally with hashed words, a topic score and
// boosted stumps (see Stump). It needs no dependency and no model call:
// scoring is one pass over the prompt's bytes without allocation (well
// under a millisecond). Weights are trained offline by Train (see
// cmd/train) on the training half of the recorded GSM8K answers and
// embedded.
package difficulty

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sync"
)

// Model is a trained difficulty scorer. It is immutable and safe for
// concurrent use.
type Model struct {
	// Features are the features the model uses, with their weights.
	Features []Weight `json:"features"`
	Bias     float64  `json:"bias"`
	// Words are the weights of hashed word features: a prompt adds
	// Words[h] / sqrt(k) for each of its k distinct word buckets h (FNV-1a
	// of the lower-cased word, modulo len(Words)). Empty: none.
	Words []float64 `json:"words,omitempty"`
	// Bigrams, when set, hashes each pair of consecutive words into the
	// same buckets as the words.
	Bigrams bool `json:"bigrams,omitempty"`
	// CharNgrams, when set, hashes the character 3- to 5-grams of every
	// word (with a boundary mark at each end) into the same buckets as
	// the words (see hashedBuckets). Files without it score as before.
	CharNgrams bool `json:"char_ngrams,omitempty"`
	// Quantiles are the model's scores on its training prompts at 0%,
	// 1%, ..., 100%, so strong_share maps to a threshold on the model's own
	// data. Optional.
	Quantiles []float64 `json:"quantiles,omitempty"`
	// Stumps, when set, add a boosted correction to the logit (see Stump).
	Stumps []Stump `json:"stumps,omitempty"`
	// Topics, when set, adds a topic score (see Topics).
	Topics *Topics `json:"topics,omitempty"`
	// Gate, when set, makes the model a gated mixture (see Gate): Score is
	// the gate's, and the fields above are unused.
	Gate *Gate `json:"gate,omitempty"`
	// Label says what the model predicts, for humans.
	Label string `json:"label"`

	// index[i] is the position of Features[i] in FeatureNames.
	index []int
	// structure is set when a feature is a structure feature: only then
	// does Score compute them (a model without them scores as fast as
	// before they existed).
	structure bool
}

// Weight is one feature's standardisation and weight: the model adds
// Weight * (x - Mean) / Std.
type Weight struct {
	Name   string  `json:"name"`
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	Weight float64 `json:"weight"`
}

var bufPool = sync.Pool{New: func() any { b := make([]float64, nFeatures); return &b }}

// Score returns the prompt's score in (0, 1): the predicted chance that
// the strong model gains an answer the weak one misses (ties count half).
// Higher means send to the strong model.
func (m *Model) Score(prompt string) float64 {
	if m.Gate != nil {
		return m.Gate.score(prompt)
	}
	bp := bufPool.Get().(*[]float64)
	extractBase(prompt, *bp)
	if m.structure {
		structure(prompt, *bp)
	}
	z := m.logit(*bp)
	for i := range m.Stumps {
		z += m.Stumps[i].value(*bp)
	}
	bufPool.Put(bp)
	if len(m.Words) > 0 {
		hashedBuckets(prompt, len(m.Words), m.Bigrams, m.CharNgrams, func(b int, v float64) { z += m.Words[b] * v })
	}
	if m.Topics != nil {
		z += m.Topics.logit(prompt)
	}
	return sigmoid(z)
}

func (m *Model) logit(x []float64) float64 {
	z := m.Bias
	for i, w := range m.Features {
		if w.Std > 0 {
			z += w.Weight * (x[m.index[i]] - w.Mean) / w.Std
		}
	}
	return z
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

//go:embed weights.json
var weightsJSON []byte

var defaultModel = sync.OnceValues(func() (*Model, error) { return Parse(weightsJSON) })

// Default returns the embedded model trained on the training half of the
// GSM8K recordings (see Split).
func Default() *Model {
	m, err := defaultModel()
	if err != nil {
		panic("difficulty: embedded weights: " + err.Error()) // built in: cannot fail
	}
	return m
}

// Parse decodes a model written by Marshal.
func Parse(b []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("difficulty: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// validate checks a decoded model and links its features.
func (m *Model) validate() error {
	if len(m.Quantiles) != 0 && len(m.Quantiles) != 101 {
		return fmt.Errorf("difficulty: %d quantiles, want 101", len(m.Quantiles))
	}
	if m.Gate != nil {
		return m.Gate.check()
	}
	if len(m.Words) > 4096 {
		return fmt.Errorf("difficulty: %d word buckets, at most 4096", len(m.Words))
	}
	if m.Topics != nil {
		if err := m.Topics.check(); err != nil {
			return err
		}
	}
	if err := checkStumps(m.Stumps); err != nil {
		return err
	}
	if len(m.Features) == 0 && len(m.Words) == 0 {
		return fmt.Errorf("difficulty: the model has no features")
	}
	return m.link()
}

// link resolves the feature names to positions in the feature vector.
func (m *Model) link() error {
	pos := make(map[string]int, nFeatures)
	for i, n := range FeatureNames {
		pos[n] = i
	}
	m.index = make([]int, len(m.Features))
	for i, w := range m.Features {
		j, ok := pos[w.Name]
		if !ok {
			return fmt.Errorf("difficulty: unknown feature %q", w.Name)
		}
		m.index[i] = j
		m.structure = m.structure || j >= nBase
	}
	for i, s := range m.Stumps {
		j, ok := pos[s.Name]
		if !ok {
			return fmt.Errorf("difficulty: stump on unknown feature %q", s.Name)
		}
		m.Stumps[i].index = j
		m.structure = m.structure || j >= nBase
	}
	return nil
}

// Marshal encodes the model as JSON (numbers rounded to 6 digits).
func (m *Model) Marshal() ([]byte, error) {
	c := m.rounded()
	return json.MarshalIndent(&c, "", " ")
}

// rounded is a copy of m for the file, numbers rounded to 6 digits.
func (m *Model) rounded() Model {
	round := func(v float64) float64 { return math.Round(v*1e6) / 1e6 }
	c := Model{Bias: round(m.Bias), Label: m.Label, Bigrams: m.Bigrams, CharNgrams: m.CharNgrams, Features: make([]Weight, len(m.Features))}
	for _, w := range m.Words {
		c.Words = append(c.Words, round(w))
	}
	for _, q := range m.Quantiles {
		c.Quantiles = append(c.Quantiles, round(q))
	}
	if t := m.Topics; t != nil {
		ct := *t
		ct.Gain, ct.LogPrior, ct.LogLik = roundAll(t.Gain, round), roundAll(t.LogPrior, round), nil
		for _, row := range t.LogLik {
			ct.LogLik = append(ct.LogLik, roundAll(row, func(v float64) float64 { return math.Round(v*1e4) / 1e4 }))
		}
		ct.Mean, ct.Std, ct.Weight = round(t.Mean), round(t.Std), round(t.Weight)
		c.Topics = &ct
	}
	for i, w := range m.Features {
		c.Features[i] = Weight{Name: w.Name, Mean: round(w.Mean), Std: round(w.Std), Weight: round(w.Weight)}
	}
	for _, s := range m.Stumps {
		c.Stumps = append(c.Stumps, Stump{Name: s.Name, Threshold: round(s.Threshold), Left: round(s.Left), Right: round(s.Right)})
	}
	if m.Gate != nil {
		c.Gate = m.Gate.rounded(round, func(e *Model) *Model { r := e.rounded(); return &r })
	}
	return c
}

func roundAll(xs []float64, round func(float64) float64) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = round(v)
	}
	return out
}
