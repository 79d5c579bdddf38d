package limits

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// The hot path per request: one Rate, one Reserve, one Settle.
func benchAdmit(b *testing.B, l Limiter) {
	ctx := context.Background()
	g := NewGate(GateOptions{Limiter: l})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			k := &store.Key{ID: "bench" + strconv.Itoa(i%64), BudgetNanos: 1 << 60, Period: store.Monthly, RPM: 1 << 40, TPM: 1 << 40}
			a, le := g.Admit(ctx, k, 100, Amount{ProprietaryNanos: 1000})
			if le != nil {
				b.Fatal(le)
			}
			a.Done(Amount{ProprietaryNanos: 500}, 150)
		}
	})
}

func BenchmarkGateMemory(b *testing.B) {
	benchAdmit(b, NewMemory(MemoryOptions{}))
}

func BenchmarkGateRedis(b *testing.B) {
	benchAdmit(b, newRedisLimiters(b, 1, time.Now, nil, RatePolicy{})[0])
}

func BenchmarkGateMemoryGCRA(b *testing.B) {
	benchAdmit(b, NewMemory(MemoryOptions{Rate: RatePolicy{Mode: ModeGCRA}}))
}
