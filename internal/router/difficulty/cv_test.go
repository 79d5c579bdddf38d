package difficulty

import (
	"fmt"
	"testing"
)

// RandomSplits trains on one half and scores the other, disjoint and
// covering every record, and draws the same splits for every fit.
func TestRandomSplits(t *testing.T) {
	var ex []Example
	for i := range 41 {
		e := Example{Prompt: fmt.Sprintf("prompt %d %s", i, string(make([]byte, i))), Weak: 1, Strong: 1}
		if i%3 == 0 {
			e.Weak = 0
		}
		ex = append(ex, e)
	}
	draw := func() (trains [][]string, res SplitsResult) {
		var scored map[string]bool
		res = RandomSplits(ex, func(tr []Example) func(string) float64 {
			var names []string
			seen := map[string]bool{}
			for _, e := range tr {
				names = append(names, e.Prompt)
				seen[e.Prompt] = true
			}
			trains = append(trains, names)
			scored = map[string]bool{}
			return func(p string) float64 {
				if seen[p] {
					t.Errorf("%q is in both halves", p)
				}
				scored[p] = true
				return float64(len(p))
			}
		}, 4)
		if len(trains[len(trains)-1])+len(scored) != len(ex) {
			t.Errorf("halves of %d and %d records, want %d in all", len(trains[len(trains)-1]), len(scored), len(ex))
		}
		return trains, res
	}
	a, ra := draw()
	b, _ := draw()
	if len(a) != 4 || len(ra.APGR) != 4 || len(ra.Length) != 4 {
		t.Fatalf("%d fits, %d APGRs, %d length rules, want 4", len(a), len(ra.APGR), len(ra.Length))
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("two runs drew different splits")
	}
	if fmt.Sprint(a[0]) == fmt.Sprint(a[1]) {
		t.Error("two splits of one run are the same")
	}
	for i := range ra.APGR {
		if ra.APGR[i] != ra.Length[i] { // the fit here is the length rule
			t.Errorf("split %d: APGR %v, length rule %v", i, ra.APGR[i], ra.Length[i])
		}
	}
	if m, sd := MeanSD([]float64{1, 2, 3}); m != 2 || sd != 1 {
		t.Errorf("MeanSD(1, 2, 3) = %v, %v, want 2, 1", m, sd)
	}
}
