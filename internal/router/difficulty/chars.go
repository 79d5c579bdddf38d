package difficulty

import (
	"math"
	"math/bits"
)

// Character n-grams (route-train --char-ngrams, RobustOptions.CharNgrams).
//
// Each word, as wordBuckets reads it (a run of ASCII letters, lower-cased),
// is padded with a boundary mark at each end ("<half>") and every 3-, 4-
// and 5-gram of the padded word is hashed into the same buckets as the
// words: "<ha", "hal", "alf", "lf>", "<hal", ..., "<half", "half>". The
// n-grams stay within a word, so they see spelling (suffixes, stems,
// "-tion", "-ly", numbers written out) but not word order, which --bigrams
// covers. Chosen before any result was seen (docs/routing.md).
const (
	charMin = 3
	charMax = 5
)

// hashedBuckets is wordBuckets with, when chars is set, the character
// n-grams of every word hashed into the same buckets too. Without chars it
// is wordBuckets, call for call. With chars the distinct buckets are
// tracked in a bitset only (a long prompt has thousands of n-grams), so n
// must be at most 4,096 (Parse's limit) and f is called in bucket order.
// It allocates nothing.
func hashedBuckets(text string, n int, bigrams, chars bool, f func(bucket int, v float64)) {
	if !chars {
		wordBuckets(text, n, bigrams, f)
		return
	}
	if n <= 0 || n > 4096 {
		return
	}
	var seen bitset
	k := 0
	prev := uint32(0)
	for i := 0; i < len(text); {
		if !isLetter(text[i]) {
			i++
			continue
		}
		start := i
		h := uint32(2166136261)
		for ; i < len(text) && isLetter(text[i]); i++ {
			h ^= uint32(text[i] | 0x20)
			h *= 16777619
		}
		if seen.add(h % uint32(n)) {
			k++
		}
		if bigrams && prev != 0 {
			if seen.add((prev*16777619 ^ h) * 2654435761 % uint32(n)) {
				k++
			}
		}
		prev = h
		k += charNgrams(text[start:i], n, &seen)
	}
	if k == 0 {
		return
	}
	v := 1 / math.Sqrt(float64(k))
	for w, word := range seen {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			f(w*64+b, v)
		}
	}
}

// charNgrams adds to seen the bucket (modulo n) of every 3- to 5-gram of
// "<" + word + ">" (word: ASCII letters, lower-cased here) and returns how
// many were new. The hash is FNV-1a seeded with the n-gram's length, then
// mixed, so an n-gram never shares a hash with the word it spells (a
// 3-letter word is also its own 5-gram).
func charNgrams(word string, n int, seen *bitset) (added int) {
	l := len(word) + 2
	var buf [64]byte
	if l > len(buf) {
		return charNgramsLong(word, n, seen)
	}
	padded := buf[:l]
	padded[0], padded[l-1] = '<', '>'
	for j := 0; j < len(word); j++ {
		padded[j+1] = word[j] | 0x20
	}
	for nn := charMin; nn <= charMax && nn <= l; nn++ {
		seed := uint32(2166136261) ^ uint32(nn)*0x9e3779b9
		for p := 0; p+nn <= l; p++ {
			h := seed
			for _, c := range padded[p : p+nn] {
				h ^= uint32(c)
				h *= 16777619
			}
			if seen.add(h * 0x85ebca6b % uint32(n)) {
				added++
			}
		}
	}
	return added
}

// charNgramsLong is charNgrams for a word too long for its buffer (62
// letters or more), reading the padded word in place.
func charNgramsLong(word string, n int, seen *bitset) (added int) {
	l := len(word) + 2
	for nn := charMin; nn <= charMax; nn++ {
		seed := uint32(2166136261) ^ uint32(nn)*0x9e3779b9
		for p := 0; p+nn <= l; p++ {
			h := seed
			for j := p; j < p+nn; j++ {
				c := byte('<')
				switch {
				case j == l-1:
					c = '>'
				case j > 0:
					c = word[j-1] | 0x20
				}
				h ^= uint32(c)
				h *= 16777619
			}
			if seen.add(h * 0x85ebca6b % uint32(n)) {
				added++
			}
		}
	}
	return added
}
