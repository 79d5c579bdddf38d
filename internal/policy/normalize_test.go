package policy

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// needsNormalizingV1 is needsNormalizing before its fast path: every rule
// at every byte.
func needsNormalizingV1(t string) bool {
	for k := 0; k < len(t); k++ {
		c := t[k]
		if c >= utf8.RuneSelf {
			return true
		}
		if c == '%' || c == '&' {
			if _, n := escapeAt(t, k); n > 0 {
				return true
			}
		}
		if strings.IndexByte("/_|+*", c) >= 0 && k > 0 && k+1 < len(t) && isDigit(t[k-1]) && isDigit(t[k+1]) {
			return true
		}
		if c == '.' && k >= 4 && k+4 < len(t) && allDigits(t[k-4:k]) && allDigits(t[k+1:k+5]) {
			return true
		}
		if k > 0 && isDigit(t[k-1]) {
			if _, n := digitGap(t, k); n > 0 {
				return true
			}
		}
	}
	return false
}

// TestNeedsNormalizingFastPath: skipping plain runs changes no answer, on
// texts built from the bytes the rules look at and plain letters.
func TestNeedsNormalizingFastPath(t *testing.T) {
	for _, s := range []string{"", "a", "1", "4111  1111", "4111 - 1111", "12/34", "a_b", "1_2", "1234.5678", "123.5678",
		"%40", "&#64;", "&amp;", "caf\u00e9", "plain words only", "x1 2", "1\t2", "1\n2", "1|2", "1+2", "1*2", "a|b"} {
		if got, want := needsNormalizing(s), needsNormalizingV1(s); got != want {
			t.Errorf("needsNormalizing(%q) = %v, want %v", s, got, want)
		}
	}
	const alphabet = "ab 1 2 3\t-/_.%&#;x40\n|+*"
	rnd := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 0, 24)
	for range 200_000 {
		buf = buf[:0]
		for range rnd.IntN(24) {
			buf = append(buf, alphabet[rnd.IntN(len(alphabet))])
		}
		if got, want := needsNormalizing(string(buf)), needsNormalizingV1(string(buf)); got != want {
			t.Fatalf("needsNormalizing(%q) = %v, want %v", buf, got, want)
		}
	}
}

// BenchmarkNeedsNormalizing compares the fast path with the rules at
// every byte (v1) on plain prose.
func BenchmarkNeedsNormalizing(b *testing.B) {
	text := "Please summarise the quarterly report and list three risks, with figures for 2025 and 2026. "
	for _, f := range []struct {
		name string
		fn   func(string) bool
	}{{"fast", needsNormalizing}, {"v1", needsNormalizingV1}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				f.fn(text)
			}
		})
	}
}
