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
	// Mean and Std standardise the dense features.
	Mean [nDense]float64 `json:"mean"`
	Std  [nDense]float64 `json:"std"`
	// Dense are the dense features' weights.
	Dense [nDense]float64 `json:"dense"`
	// Hashed are the n-gram buckets' weights (2^HashBits of them).
	Hashed []float64 `json:"hashed"`
	Bias   float64   `json:"bias"`
	// Label says what the model predicts, for humans.
	Label string `json:"label"`
}

var bufPool = sync.Pool{New: func() any { b := make([]uint32, 0, 512); return &b }}

// Score returns the prompt's difficulty in (0, 1): the predicted chance
// that the weak model needs the strong one.
func (m *Model) Score(prompt string) float64 {
	bp := bufPool.Get().(*[]uint32)
	f := extract(prompt, *bp)
	z := m.logit(&f)
	*bp = f.hashed
	bufPool.Put(bp)
	return sigmoid(z)
}

func (m *Model) logit(f *features) float64 {
	z := m.Bias
	for i, x := range f.dense {
		if m.Std[i] > 0 {
			z += m.Dense[i] * (x - m.Mean[i]) / m.Std[i]
		}
	}
	if len(f.hashed) > 0 && len(m.Hashed) == hashSize {
		s := 1 / math.Sqrt(float64(len(f.hashed)))
		for _, b := range f.hashed {
			z += m.Hashed[b] * s
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
	if len(m.Hashed) != 0 && len(m.Hashed) != hashSize {
		return nil, fmt.Errorf("difficulty: %d hashed weights, want %d", len(m.Hashed), hashSize)
	}
	return &m, nil
}

// Marshal encodes the model as JSON (weights rounded to 6 digits).
func (m *Model) Marshal() ([]byte, error) {
	c := *m
	round := func(v float64) float64 { return math.Round(v*1e6) / 1e6 }
	for i := range c.Dense {
		c.Dense[i], c.Mean[i], c.Std[i] = round(c.Dense[i]), round(c.Mean[i]), round(c.Std[i])
	}
	c.Hashed = make([]float64, len(m.Hashed))
	for i, v := range m.Hashed {
		c.Hashed[i] = round(v)
	}
	c.Bias = round(c.Bias)
	return json.Marshal(&c)
}
