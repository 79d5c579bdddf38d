// Package difficulty scores how hard a prompt is for a weak model, so the
// prompt router can send hard prompts to a strong one.
//
// The model is a logistic regression over a few dense features of the
// prompt (length, how many numbers and of what kind, sentences, question
// words) and hashed word unigrams and bigrams. It needs no dependency and no
// model call: scoring is one pass over the prompt's bytes (well under a
// millisecond). Weights are trained offline by Train (see cmd/train) on the
// training half of the recorded GSM8K answers and embedded.
package difficulty

import (
	"math"
	"unicode"
	"unicode/utf8"
)

// HashBits sizes the hashed n-gram space (2^HashBits buckets).
const HashBits = 12

const hashSize = 1 << HashBits

// Dense feature names, in vector order.
var DenseNames = []string{
	"log_chars", "log_words", "sentences", "numbers", "distinct_numbers",
	"decimals", "fractions", "percents", "money", "big_numbers",
	"number_words", "time_units", "multiplicatives", "comparatives",
	"questions", "avg_word_len", "words_per_number", "long_words",
	"log_distinct_words", "digit_share",
}

// nDense is len(DenseNames).
const nDense = 20

// features is one prompt's feature vector: dense values (unscaled) and the
// hashed n-gram buckets (each with count 1 per occurrence).
type features struct {
	dense  [nDense]float64
	hashed []uint32
}

// fnv32 hashes s with FNV-1a: stable across processes, unlike maphash,
// so embedded weights stay valid.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func fnvAdd(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

var (
	numberWords = set("half", "twice", "double", "triple", "thrice", "quarter", "third", "dozen",
		"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
		"eleven", "twelve", "twenty", "hundred", "thousand", "million")
	timeUnits = set("hour", "hours", "minute", "minutes", "second", "seconds", "day", "days",
		"week", "weeks", "month", "months", "year", "years")
	multiplicatives = set("each", "every", "per", "times", "twice", "double", "triple", "rate",
		"average", "ratio", "percent", "percentage", "fraction", "interest", "discount", "profit")
	comparatives = set("more", "less", "fewer", "than", "older", "younger", "longer", "shorter",
		"remaining", "rest", "left", "difference")
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// extract computes the features of text. buf is reused for the hashed
// buckets.
func extract(text string, buf []uint32) features {
	f := features{hashed: buf[:0]}
	var (
		words, sentences, letters int
		nums                      int
		distinct                  [16]uint32
		nd                        int
		prev                      uint32 // hash of previous token, 0 at start
		tok                       [64]byte
		vocab                     [16]uint64
		nvocab                    int
		digits                    int
	)
	d := &f.dense
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '.' || r == '?' || r == '!':
			if r == '?' {
				d[14]++
			}
			// a period inside a number is a decimal point, not a sentence end
			if !(r == '.' && i+1 < len(text) && isDigit(text[i+1])) {
				sentences++
			}
			i += size
		case r == '%':
			d[7]++
			i += size
		case r == '$' || r == '€' || r == '£':
			d[8]++
			i += size
		case isDigit(byte(r)) && r < utf8.RuneSelf:
			j := i
			dec, frac := false, false
			for j < len(text) && (isDigit(text[j]) || ((text[j] == '.' || text[j] == ',' || text[j] == '/') && j+1 < len(text) && isDigit(text[j+1]))) {
				switch text[j] {
				case '.':
					dec = true
				case '/':
					frac = true
				}
				j++
			}
			num := text[i:j]
			digits += j - i
			nums++
			h := fnv32(num)
			seen := false
			for _, x := range distinct[:nd] {
				if x == h {
					seen = true
				}
			}
			if !seen && nd < len(distinct) {
				distinct[nd] = h
				nd++
			}
			shape := "<int>"
			digits := 0
			for k := 0; k < len(num); k++ {
				if isDigit(num[k]) {
					digits++
				}
			}
			switch {
			case frac:
				d[6]++
				shape = "<frac>"
			case dec:
				d[5]++
				shape = "<dec>"
			case digits >= 4:
				d[9]++
				shape = "<big>"
			}
			prev = f.addToken(shape, prev)
			words++
			i = j
		case unicode.IsLetter(r) || r == '\'':
			j := i
			n := 0
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if !unicode.IsLetter(r2) && r2 != '\'' && r2 != '-' {
					break
				}
				if n+s2 <= len(tok) {
					n += utf8.EncodeRune(tok[n:], unicode.ToLower(r2))
				}
				j += s2
			}
			w := string(tok[:n]) // small, escapes only to the map lookups
			letters += utf8.RuneCountInString(w)
			words++
			if len(w) >= 8 {
				d[17]++
			}
			wh := fnv32(w) % 1024
			if vocab[wh/64]&(1<<(wh%64)) == 0 {
				vocab[wh/64] |= 1 << (wh % 64)
				nvocab++
			}
			if numberWords[w] {
				d[10]++
			}
			if timeUnits[w] {
				d[11]++
			}
			if multiplicatives[w] {
				d[12]++
			}
			if comparatives[w] {
				d[13]++
			}
			prev = f.addToken(w, prev)
			i = j
		default:
			i += size
		}
	}
	d[0] = math.Log1p(float64(len(text)))
	d[1] = math.Log1p(float64(words))
	d[2] = float64(sentences)
	d[3] = float64(nums)
	d[4] = float64(nd)
	if words > 0 {
		d[15] = float64(letters) / float64(words)
	}
	d[16] = float64(words) / float64(nums+1)
	d[18] = math.Log1p(float64(nvocab))
	if len(text) > 0 {
		d[19] = float64(digits) / float64(len(text))
	}
	return f
}

// addToken adds the unigram and the bigram with the previous token and
// returns the token's hash.
func (f *features) addToken(tok string, prev uint32) uint32 {
	h := fnv32(tok)
	f.hashed = append(f.hashed, h%hashSize)
	if prev != 0 {
		b := fnvAdd(prev^0x9e3779b9, tok)
		f.hashed = append(f.hashed, b%hashSize)
	}
	return h
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
