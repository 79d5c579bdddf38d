package jsonscan

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveStringEnd is the byte-at-a-time loop StringEnd replaces: a
// backslash takes the next byte with it.
func naiveStringEnd(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case '\\':
			i += 2
		case '"':
			return i
		default:
			i++
		}
	}
	return len(b)
}

func TestStringEnd(t *testing.T) {
	for _, s := range []string{`abc"`, `a\"b"`, `a\\"b`, `a\\\"b"`, `\\\\"`, `abc`, `a\`, `a\"`, `\u00e9"x`, `"`, ``, `\\\\\"\\"z"`} {
		b := []byte(s)
		if got, want := StringEnd(b, 0), naiveStringEnd(b, 0); got != want {
			t.Errorf("StringEnd(%q) = %d, want %d", s, got, want)
		}
	}
	// Random strings over the bytes that matter.
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{'a', '"', '\\', 'u', ' '}
	for range 20000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if got, want := StringEnd(b, 0), naiveStringEnd(b, 0); got != want {
			t.Fatalf("StringEnd(%q) = %d, want %d", b, got, want)
		}
	}
}

// BenchmarkStringEnd skips a 3 KB prompt, as SetModel and the gateway's
// shape check do for every request.
func BenchmarkStringEnd(b *testing.B) {
	s := []byte(strings.Repeat("The export job fails every night since version 2.4.1; please check the worker logs and summarise. ", 30) + `\"quoted\" end" tail`)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		StringEnd(s, 0)
	}
}
