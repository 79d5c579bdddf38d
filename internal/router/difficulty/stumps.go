package difficulty

import (
	"fmt"
	"math"
	"sort"
)

// Stump is one depth-1 regression tree of a boosted correction to a
// model's logit: the model adds Left when feature Name is below Threshold,
// Right otherwise. Stumps let the model bend where one weight per feature
// cannot (a number count that matters up to a point, say).
type Stump struct {
	Name      string  `json:"name"`
	Threshold float64 `json:"threshold"`
	Left      float64 `json:"left"`
	Right     float64 `json:"right"`

	index int // position of Name in FeatureNames
}

func (s *Stump) value(x []float64) float64 {
	if x[s.index] < s.Threshold {
		return s.Left
	}
	return s.Right
}

// Boosting settings: each stump's leaf values are a Newton step shrunk by
// boostShrink, with leafL2 on the leaf values and at least boostMinLeaf
// examples on each side.
const (
	boostShrink  = 0.1
	boostL2      = 1.0
	boostMinLeaf = 20
)

// boost fits rounds stumps over the columns cols of the raw features x
// (x[i][k] is feature cols[k] of example i), gradient-boosting the logistic
// loss of the soft labels y with weights wt from the logits z (updated in
// place). It is deterministic.
func boost(x [][]float64, cols []int, y, wt, z []float64, rounds int) []Stump {
	n, d := len(x), len(cols)
	order := make([][]int, d) // example indices by ascending feature value
	for k := range d {
		order[k] = make([]int, n)
		for i := range order[k] {
			order[k][i] = i
		}
		sort.SliceStable(order[k], func(a, b int) bool { return x[order[k][a]][k] < x[order[k][b]][k] })
	}
	g, h := make([]float64, n), make([]float64, n)
	var out []Stump
	for range rounds {
		var G, H float64
		for i := range n {
			p := sigmoid(z[i])
			g[i], h[i] = wt[i]*(p-y[i]), wt[i]*p*(1-p)
			G += g[i]
			H += h[i]
		}
		best, bk, bt, bl, br := 0.0, -1, 0.0, 0.0, 0.0
		for k := range d {
			var gl, hl float64
			o := order[k]
			for p := 0; p < n-1; p++ {
				gl += g[o[p]]
				hl += h[o[p]]
				a, b := x[o[p]][k], x[o[p+1]][k]
				if a == b || p+1 < boostMinLeaf || n-p-1 < boostMinLeaf {
					continue
				}
				gr, hr := G-gl, H-hl
				gain := gl*gl/(hl+boostL2) + gr*gr/(hr+boostL2) - G*G/(H+boostL2)
				if gain > best+1e-12 {
					best, bk, bt = gain, k, (a+b)/2
					bl, br = -gl/(hl+boostL2)*boostShrink, -gr/(hr+boostL2)*boostShrink
				}
			}
		}
		if bk < 0 {
			break
		}
		s := Stump{Name: FeatureNames[cols[bk]], Threshold: bt, Left: bl, Right: br, index: cols[bk]}
		for i := range n {
			if x[i][bk] < bt {
				z[i] += bl
			} else {
				z[i] += br
			}
		}
		out = append(out, s)
	}
	return out
}

func checkStumps(ss []Stump) error {
	for _, s := range ss {
		if math.IsNaN(s.Threshold) || math.IsNaN(s.Left) || math.IsNaN(s.Right) {
			return fmt.Errorf("difficulty: stump on %q: not a number", s.Name)
		}
	}
	return nil
}
