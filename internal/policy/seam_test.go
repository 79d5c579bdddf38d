package policy

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The rune-by-rune compaction the ASCII fast paths of compactHead and
// compactTail replaced, kept as their reference.

func compactHeadRunes(dst []byte, t string, n, widen int) []byte {
	start := len(dst)
	for i := 0; i < len(t); {
		r, size := utf8.DecodeRuneInString(t[i:])
		switch {
		case invisible(r):
			i += size
			continue
		case unicode.IsSpace(r):
			if len(dst)-start >= n {
				return dst
			}
			j, nl := i, false
			for j < len(t) {
				r, size := utf8.DecodeRuneInString(t[j:])
				if !unicode.IsSpace(r) && !invisible(r) {
					break
				}
				nl = nl || r == '\n'
				j += size
			}
			if nl {
				dst = append(dst, '\n')
			} else {
				dst = append(dst, t[i:i+size]...)
			}
			i = j
			continue
		}
		if len(dst)-start >= n+widen {
			return dst
		}
		dst = append(dst, t[i:i+size]...)
		i += size
	}
	return dst
}

func compactTailRunes(dst []byte, t string, n, widen int) []byte {
	i, got, space := len(t), 0, false
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(t[:i])
		switch {
		case invisible(r):
		case unicode.IsSpace(r):
			if got >= n {
				return compactHeadRunes(dst, t[i:], len(t), 0)
			}
			if !space {
				got++
			}
			space = true
		default:
			if got >= n+widen {
				return compactHeadRunes(dst, t[i:], len(t), 0)
			}
			got += size
			space = false
		}
		i -= size
	}
	return compactHeadRunes(dst, t, len(t), 0)
}

// seamPieces are what compaction distinguishes: ASCII letters, digits and
// controls, ASCII and other white space, newlines, invisible characters,
// other non-ASCII letters, and invalid UTF-8.
var seamPieces = []string{"a", "Z", "7", "-", "\x00", "\x7f", " ", "  ", "\t", "\n", "\r\n", "\v", "\f",
	"\u00a0", "\u0085", "\u2003", "\u3000", "\u00ad", "\u200b", "\u200d", "\u2060", "\ufeff", "é", "日", "\xff", "\xe2\x80", "abcdefgh", "sk-proj"}

func checkCompact(t *testing.T, s string, n, widen int) {
	t.Helper()
	prefix := []byte("dst:")
	if got, want := compactHead(bytes.Clone(prefix), s, n, widen), compactHeadRunes(bytes.Clone(prefix), s, n, widen); !bytes.Equal(got, want) {
		t.Fatalf("compactHead(%q, %d, %d) = %q, want %q", s, n, widen, got, want)
	}
	if got, want := compactTail(bytes.Clone(prefix), s, n, widen), compactTailRunes(bytes.Clone(prefix), s, n, widen); !bytes.Equal(got, want) {
		t.Fatalf("compactTail(%q, %d, %d) = %q, want %q", s, n, widen, got, want)
	}
}

// TestCompactMatchesRunes checks the fast paths against the rune-by-rune
// reference on random texts and limits around their lengths.
func TestCompactMatchesRunes(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 3))
	for range 20_000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(seamPieces[rng.IntN(len(seamPieces))])
		}
		s := b.String()
		checkCompact(t, s, rng.IntN(len(s)+2), rng.IntN(len(s)+2))
		checkCompact(t, s, seamWindow, seamToken)
		checkCompact(t, s, seamWindow, 0)
	}
}

func FuzzCompact(f *testing.F) {
	f.Add("card 4111 1111", 4, 3)
	f.Add("a\u200b b\u00a0\n\tc", 1, 0)
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx", 64, 4096)
	f.Fuzz(func(t *testing.T, s string, n, widen int) {
		if n < 0 || widen < 0 || n > 1<<20 || widen > 1<<20 {
			return
		}
		checkCompact(t, s, n, widen)
	})
}

func BenchmarkCompact(b *testing.B) {
	text := "Write one short sentence that greets the reader and mentions the weather in Lisbon today, without any numbers."
	b.ReportAllocs()
	var dst []byte
	for b.Loop() {
		dst = compactHead(dst[:0], text, seamWindow, seamToken)
		dst = compactTail(dst[:0], text, seamWindow, seamToken)
	}
}
