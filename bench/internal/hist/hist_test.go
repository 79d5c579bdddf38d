package hist

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// reference is the exact quantile of a sorted slice, by the same rank rule.
func reference(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func TestQuantileAgainstSortedSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() int64
		n    int
	}{
		{"small exact values", func() int64 { return r.Int64N(200) }, 10_000},
		{"uniform microseconds", func() int64 { return 50_000 + r.Int64N(2_000_000) }, 50_000},
		{"lognormal latencies", func() int64 { return int64(math.Exp(r.NormFloat64()*1.2 + 12)) }, 100_000},
		{"bimodal with tail", func() int64 {
			if r.IntN(1000) == 0 {
				return 5_000_000_000 + r.Int64N(1e9)
			}
			return 100_000 + r.Int64N(10_000)
		}, 100_000},
		{"single value", func() int64 { return 123_456_789 }, 10},
		{"huge values", func() int64 { return math.MaxInt64 - r.Int64N(1e12) }, 1_000},
	}
	qs := []float64{0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New()
			vals := make([]int64, tt.n)
			for i := range vals {
				vals[i] = tt.gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range qs {
				got, want := h.Quantile(q), reference(vals, q)
				// The bucket midpoint is within half a bucket (1/256) of
				// every value in it; allow 1% as the documented precision.
				if diff := math.Abs(float64(got) - float64(want)); diff > 0.01*float64(want)+1 {
					t.Errorf("q=%v: got %d, want %d (±1%%)", q, got, want)
				}
			}
			if h.Count() != uint64(tt.n) {
				t.Errorf("Count = %d, want %d", h.Count(), tt.n)
			}
			if h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
				t.Errorf("Min, Max = %d, %d; want %d, %d", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
			}
		})
	}
}

func TestBucketBoundsContainValue(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := []int64{0, 1, 127, 128, 255, 256, 257, 511, 512, 1 << 40, math.MaxInt64}
	for range 10_000 {
		vals = append(vals, r.Int64N(math.MaxInt64>>uint(r.IntN(63))))
	}
	for _, v := range vals {
		i := bucket(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucket(%d) = %d out of range", v, i)
		}
		lo, hi := bounds(i)
		if v < lo || v > hi {
			t.Fatalf("value %d outside its bucket %d [%d, %d]", v, i, lo, hi)
		}
		if lo > 0 && float64(hi-lo) > float64(lo)/subCount {
			t.Fatalf("bucket %d [%d, %d] wider than 1/%d", i, lo, hi, subCount)
		}
	}
}

func TestMergeEqualsRecordingAll(t *testing.T) {
	a, b, all := New(), New(), New()
	for i := range int64(10_000) {
		v := i * i
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(b)
	a.Merge(New()) // merging an empty histogram changes nothing
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		if got, want := a.Quantile(q), all.Quantile(q); got != want {
			t.Errorf("q=%v: merged %d, all %d", q, got, want)
		}
	}
	if a.Count() != all.Count() || a.Min() != all.Min() || a.Max() != all.Max() || a.Mean() != all.Mean() {
		t.Errorf("merged summary differs: %d %d %d %v vs %d %d %d %v",
			a.Count(), a.Min(), a.Max(), a.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
}

func TestEmptyAndNegative(t *testing.T) {
	h := New()
	if h.Quantile(0.5) != 0 || h.Min() != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Error("empty histogram should report zeros")
	}
	h.Record(-5)
	if h.Quantile(1) != 0 || h.Min() != 0 {
		t.Errorf("negative value should count as 0, got q1=%d min=%d", h.Quantile(1), h.Min())
	}
}

func BenchmarkRecord(b *testing.B) {
	h := New()
	b.ReportAllocs()
	for i := range b.N {
		h.Record(int64(i) * 7919)
	}
}
