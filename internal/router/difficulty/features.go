package difficulty

import "math"

// Feature names, in vector order: the prompt's shape (length, sentences,
// numbers and their kind and size, vocabulary, people named), then counts
// of cue words and of cue word pairs. Train screens them and a model uses a
// subset; an extractor always computes all of them.
var FeatureNames = func() []string {
	n := append([]string(nil), shapeNames[:]...)
	for _, w := range cueWords {
		n = append(n, "w:"+w)
	}
	for _, b := range cuePairs {
		n = append(n, "b:"+b[0]+" "+b[1])
	}
	if len(n) != nBase {
		panic("difficulty: nBase is not the number of base features")
	}
	return append(n, structNames[:]...)
}()

// nBase is the number of base features (shape, cue words, cue pairs): the
// features a model trained without RobustOptions.Structure chooses from.
const nBase = nShape + 91 + 15

// nFeatures is len(FeatureNames): the base and the structure features.
const nFeatures = nBase + nStruct

const nShape = 22

var shapeNames = [nShape]string{
	"log_chars", "log_words", "sentences", "numbers", "distinct_numbers",
	"max_magnitude", "mean_magnitude", "decimals", "fractions", "big_numbers",
	"small_numbers", "percents", "money", "numbers_per_sentence",
	"words_per_number", "words_per_sentence", "avg_word_len", "long_words",
	"log_distinct_words", "type_token_ratio", "names", "questions",
}

// cueWords were picked before looking at the data, as words that mark
// GSM8K steps (each, twice, remaining, more than), quantities and units,
// question forms, and common function words.
var cueWords = []string{"each", "per", "every", "twice", "half", "double", "triple", "times", "remaining", "rest", "left",
	"total", "altogether", "average", "rate", "more", "less", "fewer", "than", "percent", "discount", "profit", "interest",
	"if", "after", "before", "then", "until", "only", "instead", "some", "third", "quarter", "fifth", "dozen", "cents",
	"dollars", "week", "day", "hour", "minute", "month", "year", "miles", "how", "many", "much", "what", "long", "he", "she", "they",
	"his", "her", "their", "and", "of", "the", "a", "to", "in", "for", "with", "is", "was", "will", "can", "spends", "buys", "sells", "costs", "pays",
	"earns", "saves", "gives", "gets", "takes", "makes", "needs", "wants", "has", "had", "cost", "price", "money", "sold", "bought", "new", "old", "age", "years"}

var cuePairs = [][2]string{{"how", "many"}, {"how", "much"}, {"how", "long"}, {"what", "percent"}, {"more", "than"},
	{"less", "than"}, {"times", "as"}, {"as", "many"}, {"in", "total"}, {"how", "old"}, {"per", "hour"}, {"each", "of"},
	{"the", "rest"}, {"of", "the"}, {"percent", "of"}}

// vocab maps a cue word, or a word of a cue pair, to an id; cueIndex maps a
// cue word id to its feature, pairIndex a pair of ids to its feature.
var vocab, cueIndex, pairIndex = func() (map[string]uint16, map[uint16]int, map[uint32]int) {
	v := map[string]uint16{}
	id := func(w string) uint16 {
		if i, ok := v[w]; ok {
			return i
		}
		v[w] = uint16(len(v) + 1)
		return v[w]
	}
	c, p := map[uint16]int{}, map[uint32]int{}
	for i, w := range cueWords {
		c[id(w)] = nShape + i
	}
	for i, b := range cuePairs {
		p[uint32(id(b[0]))<<16|uint32(id(b[1]))] = nShape + len(cueWords) + i
	}
	return v, c, p
}()

// bitset is a 4,096-bit set of hashes, for approximate distinct counts
// without allocating.
type bitset [64]uint64

func (b *bitset) add(h uint32) bool {
	h %= 4096
	if b[h/64]&(1<<(h%64)) != 0 {
		return false
	}
	b[h/64] |= 1 << (h % 64)
	return true
}

// extract writes the features of text into f (len nFeatures, zeroed by
// extract): the base features in one pass over the bytes, then the
// structure features in another. It allocates nothing.
func extract(text string, f []float64) {
	extractBase(text, f)
	structure(text, f)
}

// extractBase zeroes f and writes the base features of text into it, in
// one pass over the bytes, without allocating.
//
// Words are runs of ASCII letters and apostrophes, lower-cased; numbers are
// digit runs joined by '.', ',' or '/' before a digit; a sentence ends at
// '.', '?' or '!' followed by a space or the end.
func extractBase(text string, f []float64) {
	clear(f)
	var (
		words, sentences, letters, nums, long int
		distinctNums, distinctWords, names    int
		maxMag, sumMag                        float64
		seenNums, seenWords, seenNames        bitset
		prev                                  uint16 // id of the previous word, 0 if none or not a cue
		lastNonSpace                          byte   // last byte before the current token that is not a space
		tok                                   [32]byte
	)
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '.' || c == '?' || c == '!':
			if i+1 == len(text) || isSpace(text[i+1]) {
				sentences++
			}
			if c == '?' {
				f[21]++
			}
			lastNonSpace = c
			i++
		case isDigit(c):
			j := i
			var whole, frac, den, scale float64
			kind := byte(0) // 0 integer, '.', '/'
			for j < len(text) {
				d := text[j]
				if isDigit(d) {
					switch kind {
					case '.':
						scale /= 10
						frac += float64(d-'0') * scale
					case '/':
						den = den*10 + float64(d-'0')
					default:
						whole = whole*10 + float64(d-'0')
					}
					j++
					continue
				}
				if (d == '.' || d == ',' || d == '/') && j+1 < len(text) && isDigit(text[j+1]) {
					switch {
					case d == '.' && kind == 0:
						kind, scale = '.', 1
					case d == '/' && kind == 0:
						kind = '/'
					case d != ',':
						kind = 'x' // 1.2.3 or 1/2/3: keep what was read
					}
					j++
					continue
				}
				break
			}
			v := whole + frac
			switch kind {
			case '.':
				f[7]++
			case '/':
				f[8]++
				if den > 0 {
					v = whole / den
				}
			}
			if v >= 1000 {
				f[9]++
			}
			if v < 10 {
				f[10]++
			}
			mag := math.Min(math.Log10(1+v), 30) // finite for any digit run
			sumMag += mag
			maxMag = math.Max(maxMag, mag)
			nums++
			if seenNums.add(fnv32(text[i:j])) {
				distinctNums++
			}
			prev, lastNonSpace = 0, '0'
			i = j
		case isLetter(c) || c == '\'':
			j, n := i, 0
			for j < len(text) && (isLetter(text[j]) || text[j] == '\'') {
				if n < len(tok) {
					tok[n] = text[j] | 0x20 // ASCII lower case ('\'' is unchanged)
					n++
				}
				j++
			}
			w := tok[:n]
			words++
			letters += j - i
			if j-i >= 8 {
				long++
			}
			h := fnvBytes(w)
			if seenWords.add(h) {
				distinctWords++
			}
			// A capitalised word not at the start of a sentence: a name.
			if c >= 'A' && c <= 'Z' && j-i > 1 && lastNonSpace != 0 && lastNonSpace != '.' && lastNonSpace != '?' && lastNonSpace != '!' {
				if seenNames.add(h) {
					names++
				}
			}
			id := vocab[string(w)] // no allocation: the compiler reads the map with the bytes
			if k, ok := cueIndex[id]; ok {
				f[k]++
			}
			if prev != 0 && id != 0 {
				if k, ok := pairIndex[uint32(prev)<<16|uint32(id)]; ok {
					f[k]++
				}
			}
			prev, lastNonSpace = id, 'a'
			i = j
		case c == '%':
			f[11]++
			lastNonSpace = c
			i++
		case c == '$':
			f[12]++
			lastNonSpace = c
			i++
		default:
			if !isSpace(c) {
				lastNonSpace = c
				// Punctuation inside a phrase ends a cue pair, except for
				// the bytes of non-ASCII letters and quotes.
				if c < 0x80 {
					prev = 0
				}
			}
			i++
		}
	}
	if sentences == 0 {
		sentences = 1
	}
	f[0] = math.Log1p(float64(len(text)))
	f[1] = math.Log1p(float64(words))
	f[2] = float64(sentences)
	f[3] = float64(nums)
	f[4] = float64(distinctNums)
	f[5] = maxMag
	f[6] = sumMag / float64(nums+1)
	f[13] = float64(nums) / float64(sentences)
	f[14] = float64(words) / float64(nums+1)
	f[15] = float64(words) / float64(sentences)
	f[16] = float64(letters) / float64(words+1)
	f[17] = float64(long)
	f[18] = math.Log1p(float64(distinctWords))
	f[19] = float64(distinctWords) / float64(words+1)
	f[20] = float64(names)
}

// fnv32 hashes s with FNV-1a: stable across processes, unlike maphash, so
// the held-out split never moves.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func fnvBytes(s []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range s {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isSpace(c byte) bool  { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }
