package cache

import (
	"math/rand/v2"
	"testing"
)

// TestIndexAgainstMap runs random sets, gets and deletes against a Go map,
// with hashes that mostly share a few homes at the table's end, so that
// chains are long, wrap around and are shifted back by deletes.
func TestIndexAgainstMap(t *testing.T) {
	for _, spread := range []uint64{1 << 6, 1 << 12, 1 << 63} {
		r := rand.New(rand.NewPCG(1, spread))
		var x index
		want := map[uint64]int32{}
		for n := range 30_000 {
			h := r.Uint64N(spread)
			if spread < 1<<20 {
				// 16 homes at the table's end: long chains that wrap.
				h = h<<32 | 0xffff_fff0 | r.Uint64N(16)
			}
			switch r.IntN(3) {
			case 0:
				x.set(h, int32(n))
				want[h] = int32(n)
			case 1:
				x.del(h)
				delete(want, h)
			}
			got, ok := x.get(h)
			w, wok := want[h]
			if ok != wok || got != w {
				t.Fatalf("spread %d, op %d: get(%x) = %d, %v; want %d, %v", spread, n, h, got, ok, w, wok)
			}
		}
		if x.len() != len(want) {
			t.Fatalf("spread %d: len %d, want %d", spread, x.len(), len(want))
		}
		for h, w := range want {
			if got, ok := x.get(h); !ok || got != w {
				t.Fatalf("spread %d: get(%x) = %d, %v; want %d", spread, h, got, ok, w)
			}
		}
	}
}
