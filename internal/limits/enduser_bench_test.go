package limits

import (
	"context"
	"strconv"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// benchAdmitUsers is benchAdmit with an end-user budget and users drawn
// from users distinct ids (0: no end user), to price the extra budget:
// the id's hash, one more budget in the reservation, the LRU.
func benchAdmitUsers(b *testing.B, l Limiter, users int) {
	ctx := context.Background()
	g := NewGate(GateOptions{Limiter: l, EndUser: EndUserBudget{Period: store.Daily, LimitNanos: 1 << 60}})
	ids := make([]string, max(users, 1))
	for i := range ids {
		ids[i] = "user-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			k := &store.Key{ID: "bench" + strconv.Itoa(i%64), BudgetNanos: 1 << 60, Period: store.Monthly, RPM: 1 << 40, TPM: 1 << 40}
			u := ""
			if users > 0 {
				u = ids[i%users]
			}
			a, le := g.AdmitUser(ctx, k, u, 100, Amount{ProprietaryNanos: 1000})
			if le != nil {
				b.Fatal(le)
			}
			a.Done(Amount{ProprietaryNanos: 500}, 150)
		}
	})
}

func BenchmarkGateMemoryNoEndUser(b *testing.B) { benchAdmitUsers(b, NewMemory(MemoryOptions{}), 0) }
func BenchmarkGateMemoryEndUser(b *testing.B)   { benchAdmitUsers(b, NewMemory(MemoryOptions{}), 1000) }

// BenchmarkGateMemoryEndUserEvicting has more users than MaxEndUsers, so
// most admissions seed a user and evict another.
func BenchmarkGateMemoryEndUserEvicting(b *testing.B) {
	benchAdmitUsers(b, NewMemory(MemoryOptions{MaxEndUsers: 100}), 1000)
}
