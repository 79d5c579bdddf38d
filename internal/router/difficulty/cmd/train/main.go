// Command train fits the embedded difficulty model on the training half of
// the GSM8K recordings and writes its weights:
//
//	go run ./internal/router/difficulty/cmd/train > internal/router/difficulty/weights.json
//
// With -cv it instead prints the repeated 5-fold cross-validation, on the
// training half, of the grid of options the defaults were chosen from.
//
// The held-out half is never read here, so route-eval's held-out numbers
// are honest.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

// labelName is recorded in the embedded model.
const labelName = "gain: gpt-4 right and mixtral wrong (1), the reverse (0), else 0.5"

func main() {
	cv := flag.Bool("cv", false, "print the cross-validation grid on the training half instead of training")
	reps := flag.Int("reps", 10, "repetitions of 5-fold cross-validation (with -cv)")
	flag.Parse()
	if err := run(os.Stdout, *cv, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, cv bool, reps int) error {
	all, err := difficulty.LoadGSM8K()
	if err != nil {
		return err
	}
	train, _ := difficulty.Split(all)
	if cv {
		fmt.Fprintf(w, "%d-times repeated 5-fold CV on the training half (%d questions): mean fold APGR ± s.e.\n", reps, len(train))
		fmt.Fprintf(w, "| keep | L2 | APGR |\n|---:|---:|---:|\n")
		for _, keep := range []int{10, 20, 30, 40, 50, 70, len(difficulty.FeatureNames)} {
			for _, l2 := range []float64{0.001, 0.01, 0.1, 1} {
				r := difficulty.CrossValidate(train, difficulty.TrainOptions{Keep: keep, L2: l2}, 5, reps)
				fmt.Fprintf(w, "| %d | %g | %.3f ± %.3f |\n", keep, l2, r.APGR, r.SE)
			}
		}
		return nil
	}
	m := difficulty.Train(train, difficulty.TrainOptions{LabelName: labelName})
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
