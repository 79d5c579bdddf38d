package difficulty

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/dataset"
)

// Example is one recorded prompt with both models' correctness.
type Example struct {
	Prompt        string
	WeakCorrect   bool
	StrongCorrect bool
	// Steps is the number of calculations in the reference solution (GSM8K
	// "<<...>>" annotations), or -1 when unknown. Training may use it; a
	// router never sees it.
	Steps int
}

// LoadGSM8K reads the embedded recordings (Mixtral-8x7B as weak, GPT-4 as
// strong) joined with the reference solutions' step counts.
func LoadGSM8K() ([]Example, error) {
	rd := csv.NewReader(bytes.NewReader(dataset.GSM8KResponses()))
	rows, err := rd.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("difficulty: gsm8k responses: %w", err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("difficulty: gsm8k responses: no rows")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	ip, iw, is := col["prompt"], col[dataset.GSM8KWeak], col[dataset.GSM8KStrong]
	if ip != 0 || iw == 0 || is == 0 {
		return nil, fmt.Errorf("difficulty: gsm8k responses: unexpected header %q", rows[0])
	}
	steps := map[string]int{}
	for _, line := range bytes.Split(dataset.GSM8KTest(), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var q struct{ Question, Answer string }
		if err := json.Unmarshal(line, &q); err != nil {
			return nil, fmt.Errorf("difficulty: gsm8k test: %w", err)
		}
		steps[strings.TrimSpace(q.Question)] = strings.Count(q.Answer, "<<")
	}
	out := make([]Example, 0, len(rows)-1)
	for _, r := range rows[1:] {
		e := Example{Prompt: r[ip], WeakCorrect: r[iw] == "True", StrongCorrect: r[is] == "True", Steps: -1}
		if s, ok := steps[strings.TrimSpace(e.Prompt)]; ok {
			e.Steps = s
		}
		out = append(out, e)
	}
	return out, nil
}

// Heldout reports whether a prompt belongs to the held-out half: FNV-1a of
// the prompt, low bit set. The split is fixed before any tuning; Train and
// calibration use only the other half.
func Heldout(prompt string) bool { return fnv32(prompt)&1 == 1 }

// Split divides examples into the training and held-out halves.
func Split(all []Example) (train, heldout []Example) {
	for _, e := range all {
		if Heldout(e.Prompt) {
			heldout = append(heldout, e)
		} else {
			train = append(train, e)
		}
	}
	return train, heldout
}

// TrainOptions tunes Train. Zero fields take the defaults noted.
type TrainOptions struct {
	// Label maps an example to the training target in [0, 1]. Default
	// LabelGain.
	Label func(e *Example) float64
	// L2Dense and L2Hashed are the ridge penalties. Defaults 0.01 and 0.01 (chosen by 5-fold cross-validation on the training half).
	L2Dense, L2Hashed float64
	// Iterations of full-batch Adam. Default 400.
	Iterations int
	// NoHashed trains the dense features only.
	NoHashed bool
	// LabelName is recorded in the model.
	LabelName string
}

// LabelGain is 1 when routing to the strong model gains a correct answer
// (strong right, weak wrong), 0 when it loses one (weak right, strong
// wrong), and 0.5 when it changes nothing: the logistic model then ranks by
// the expected gain of a strong call.
func LabelGain(e *Example) float64 {
	switch {
	case e.StrongCorrect && !e.WeakCorrect:
		return 1
	case e.WeakCorrect && !e.StrongCorrect:
		return 0
	}
	return 0.5
}

// LabelWeakWrong is 1 when the weak model got it wrong.
func LabelWeakWrong(e *Example) float64 {
	if e.WeakCorrect {
		return 0
	}
	return 1
}

// Train fits a logistic regression (soft labels, L2 penalty, full-batch
// Adam) on examples. It is deterministic.
func Train(examples []Example, o TrainOptions) *Model {
	if o.Label == nil {
		o.Label = LabelGain
	}
	if o.L2Dense == 0 {
		o.L2Dense = 0.01
	}
	if o.L2Hashed == 0 {
		o.L2Hashed = 0.01
	}
	if o.Iterations == 0 {
		o.Iterations = 400
	}
	n := len(examples)
	fs := make([]features, n)
	ys := make([]float64, n)
	m := &Model{Label: o.LabelName}
	for i := range examples {
		fs[i] = extract(examples[i].Prompt, nil)
		ys[i] = o.Label(&examples[i])
		for j, x := range fs[i].dense {
			m.Mean[j] += x / float64(n)
		}
	}
	for i := range fs {
		for j, x := range fs[i].dense {
			m.Std[j] += (x - m.Mean[j]) * (x - m.Mean[j]) / float64(n)
		}
	}
	for j := range m.Std {
		m.Std[j] = math.Sqrt(m.Std[j])
	}
	if !o.NoHashed {
		m.Hashed = make([]float64, hashSize)
	}
	// Parameters: dense, hashed, bias, with Adam moments.
	np := nDense + len(m.Hashed) + 1
	grad := make([]float64, np)
	mom := make([]float64, np)
	vel := make([]float64, np)
	const lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
	for it := 1; it <= o.Iterations; it++ {
		clear(grad)
		for i := range fs {
			f := &fs[i]
			g := (sigmoid(m.logit(f)) - ys[i]) / float64(n)
			for j, x := range f.dense {
				if m.Std[j] > 0 {
					grad[j] += g * (x - m.Mean[j]) / m.Std[j]
				}
			}
			if m.Hashed != nil && len(f.hashed) > 0 {
				s := 1 / math.Sqrt(float64(len(f.hashed)))
				for _, b := range f.hashed {
					grad[nDense+int(b)] += g * s
				}
			}
			grad[np-1] += g
		}
		for j := 0; j < nDense; j++ {
			grad[j] += o.L2Dense * m.Dense[j]
		}
		for j := range m.Hashed {
			grad[nDense+j] += o.L2Hashed * m.Hashed[j]
		}
		c1 := 1 - math.Pow(b1, float64(it))
		c2 := 1 - math.Pow(b2, float64(it))
		for j := range grad {
			mom[j] = b1*mom[j] + (1-b1)*grad[j]
			vel[j] = b2*vel[j] + (1-b2)*grad[j]*grad[j]
			step := lr * (mom[j] / c1) / (math.Sqrt(vel[j]/c2) + eps)
			switch {
			case j < nDense:
				m.Dense[j] -= step
			case j < np-1:
				m.Hashed[j-nDense] -= step
			default:
				m.Bias -= step
			}
		}
	}
	return m
}
