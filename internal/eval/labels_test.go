package eval

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/dataset"
)

type label struct {
	answer  string
	correct bool
}

// recordedLabels reads the recorded answers and the original graders'
// True/False labels, in file order (the same order as the test set).
func recordedLabels(t *testing.T) map[string][]label {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(dataset.GSM8KResponses())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	out := map[string][]label{}
	for _, m := range []string{dataset.GSM8KStrong, dataset.GSM8KWeak} {
		for _, r := range recs[1:] {
			out[m] = append(out[m], label{answer: r[col[m+"_response"]], correct: r[col[m]] == "True"})
		}
	}
	return out
}
