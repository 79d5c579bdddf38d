// Command train fits the embedded difficulty model and writes its weights:
//
//	go run ./internal/router/difficulty/cmd/train > internal/router/difficulty/weights.json
//
// It trains on the training halves (difficulty.Split) of the three embedded
// recordings (GSM8K, MMLU, MT-Bench) and blends the model with the length
// rule (difficulty.Blend). The blend weight is the largest of a grid that
// is at least as good as the length rule on every domain when the domain
// is left out of training (train on two, score the third's held-out half):
// the default must not do worse than "longer prompts to the strong model"
// on data it has not seen. The leave-one-domain-out table goes to stderr.
//
// The held-out halves are only scored, never trained on.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

// labelName is recorded in the embedded model.
const labelName = "gain (1 + strong - weak) / 2, gpt-4 strong, mixtral-8x7b weak; GSM8K, MMLU, MT-Bench training halves; blended with the length rule"

func main() {
	if err := run(os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

// Options are the embedded model's training options.
var Options = difficulty.RobustOptions{Buckets: difficulty.DefaultBuckets, L2: difficulty.DefaultRobustL2, LabelName: labelName}

func run(w, log io.Writer) error {
	m, alpha, table, err := difficulty.TrainDefault(difficulty.DefaultGrid, Options)
	if err != nil {
		return err
	}
	fmt.Fprint(log, table)
	fmt.Fprintf(log, "chosen blend weight %g\n", alpha)
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
