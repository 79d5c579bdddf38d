// Package hist is a small HDR-style latency histogram: log-linear buckets
// with 128 sub-buckets per power of two, so any recorded value is known to
// within 1/128 (< 0.8%) of itself, over the whole int64 range, in a fixed
// ~60 KB of counters. Recording is one bits.Len64 and an increment.
//
// A Histogram is not safe for concurrent use: give each goroutine its own
// and Merge them at the end.
package hist

import (
	"math"
	"math/bits"
)

const (
	subBits  = 7
	subCount = 1 << subBits // sub-buckets per power of two
	// Values below linearMax are counted exactly, one bucket each.
	linearMax = 2 * subCount
	// numBuckets covers shifts 1..(64-subBits-1).
	numBuckets = linearMax + (64-subBits-1)*subCount
)

// Histogram counts non-negative int64 values (nanoseconds, by convention).
type Histogram struct {
	counts [numBuckets]uint64
	total  uint64
	min    int64
	max    int64
	sum    float64
}

// New returns an empty histogram.
func New() *Histogram { return &Histogram{min: math.MaxInt64} }

// bucket returns the index of v's bucket; v >= 0.
func bucket(v int64) int {
	u := uint64(v)
	if u < linearMax {
		return int(u)
	}
	shift := bits.Len64(u) - (subBits + 1)
	top := u >> uint(shift) // in [subCount, 2*subCount)
	return linearMax + (shift-1)*subCount + int(top-subCount)
}

// bounds returns the lowest and highest value that fall in bucket i.
func bounds(i int) (lo, hi int64) {
	if i < linearMax {
		return int64(i), int64(i)
	}
	j := i - linearMax
	shift := uint(j/subCount + 1)
	top := uint64(j%subCount + subCount)
	lo64 := top << shift
	hi64 := (top+1)<<shift - 1
	if hi64 > math.MaxInt64 {
		hi64 = math.MaxInt64
	}
	return int64(lo64), int64(hi64)
}

// Record counts one value; negative values count as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucket(v)]++
	h.total++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Min is the smallest recorded value, 0 when empty.
func (h *Histogram) Min() int64 {
	if h.total == 0 {
		return 0
	}
	return h.min
}

// Max is the largest recorded value, 0 when empty.
func (h *Histogram) Max() int64 { return h.max }

// Mean is the exact mean of the recorded values, 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return h.sum / float64(h.total)
}

// Quantile returns the value at quantile q in [0, 1]: the value of the
// ceil(q*n)-th smallest recording, as the midpoint of its bucket (clamped to
// the recorded min and max), so within 1/256 of the true value either way.
// It returns 0 when empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.total {
		rank = h.total
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bounds(i)
			mid := lo + (hi-lo)/2
			return min(max(mid, h.min), h.max)
		}
	}
	return h.max
}
