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

func TestPlainRun(t *testing.T) {
	naive := func(d []byte, i int) int {
		for ; i < len(d); i++ {
			if c := d[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				return i
			}
		}
		return len(d)
	}
	r := rand.New(rand.NewPCG(3, 4))
	// Mostly plain bytes, with each kind of special byte now and then,
	// and the bytes next to the boundaries (0x1f/0x20, 0x7f/0x80, '!', '#', '[', ']').
	special := []byte{'"', '\\', 0x00, 0x1f, 0x80, 0xff, 0xc3, '\n'}
	near := []byte{0x20, 0x7f, '!', '#', '[', ']', 'a', '~'}
	for range 20000 {
		d := make([]byte, r.IntN(40))
		for i := range d {
			switch r.IntN(20) {
			case 0:
				d[i] = special[r.IntN(len(special))]
			case 1, 2, 3:
				d[i] = near[r.IntN(len(near))]
			default:
				d[i] = byte(0x20 + r.IntN(0x5f))
				if d[i] == '"' || d[i] == '\\' {
					d[i] = 'x'
				}
			}
		}
		i := 0
		if len(d) > 0 {
			i = r.IntN(len(d))
		}
		if got, want := plainRun(d, i), naive(d, i); got != want {
			t.Fatalf("plainRun(%q, %d) = %d, want %d", d, i, got, want)
		}
	}
}
