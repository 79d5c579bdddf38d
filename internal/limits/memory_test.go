package limits

import (
	"testing"
	"time"
)

func memoryFactory(p RatePolicy) factory {
	return func(t *testing.T, n int, now func() time.Time, totals Totals) []Limiter {
		if n != 1 {
			t.Fatalf("memory limiter cannot be shared by %d replicas", n)
		}
		return []Limiter{NewMemory(MemoryOptions{Totals: totals, Now: now, Rate: p})}
	}
}

func TestMemory(t *testing.T) { runSuite(t, memoryFactory, 1) }
