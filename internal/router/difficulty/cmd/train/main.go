// Command train fits the embedded difficulty model on the training half of
// the GSM8K recordings and writes its weights:
//
//	go run ./internal/router/difficulty/cmd/train > internal/router/difficulty/weights.json
//
// The held-out half is never read here, so route-eval's held-out numbers
// are honest.
package main

import (
	"fmt"
	"os"

	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

func run() error {
	all, err := difficulty.LoadGSM8K()
	if err != nil {
		return err
	}
	train, _ := difficulty.Split(all)
	m := difficulty.Train(train, difficulty.TrainOptions{LabelName: "gain: gpt-4 right and mixtral wrong (1), the reverse (0), else 0.5"})
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(b, '\n'))
	return err
}
