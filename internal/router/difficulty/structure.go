package difficulty

import (
	"math"
	"math/bits"
)

// Structure features describe how a prompt is built rather than what it is
// about, so that they might carry over between benchmarks: how many
// reasoning steps a word problem implies (quantities, operation cues,
// references back to earlier quantities, how much setup precedes the
// question) and the form of a multiple-choice question (a negated stem
// such as "Which is NOT ...", "I and II only" combinations, the answer
// options' length, spread and overlap, code and mathematical notation).
// They were fixed before looking at any result.
//
// They follow the base features in FeatureNames. A model uses them only
// when trained with RobustOptions.Structure: the shipped router and router
// files written before they existed list only base features by name, so
// they load and score exactly as before.
var structNames = [nStruct]string{
	"s:quantities", "s:op_cues", "s:distinct_op_cues", "s:chain_refs",
	"s:conditions", "s:number_sentences", "s:setup_sentences",
	"s:question_words", "s:question_numbers", "s:negations",
	"s:caps_negations", "s:roman", "s:options", "s:option_log_chars",
	"s:option_spread", "s:option_overlap", "s:numeric_options",
	"s:stem_log_chars", "s:math_symbols", "s:code_symbols", "s:lines",
	"s:instructions", "s:context_refs",
}

const nStruct = 23

// Positions of the structure features in the feature vector.
const (
	sQuantities = nBase + iota
	sOpCues
	sDistinctOpCues
	sChainRefs
	sConditions
	sNumberSentences
	sSetupSentences
	sQuestionWords
	sQuestionNumbers
	sNegations
	sCapsNegations
	sRoman
	sOptions
	sOptionLogChars
	sOptionSpread
	sOptionOverlap
	sNumericOptions
	sStemLogChars
	sMathSymbols
	sCodeSymbols
	sLines
	sInstructions
	sContextRefs
)

// Word classes of the structure features; a word may be in several.
const (
	cNumber      = 1 << iota // a spelled quantity: "three", "dozen", "half"
	cOp                      // an arithmetic step: "each", "twice", "remaining"
	cChain                   // refers back to a quantity: "it", "the rest", "that"
	cCondition               // "if", "unless", "suppose"
	cNegation                // "not", "except", "least", "false"
	cRoman                   // "ii", "iii", "iv" (counted only in capitals)
	cInstruction             // an imperative task: "write", "explain", "list"
	cContext                 // refers to an earlier turn: "previous", "above"
)

var structWords = map[string]uint8{}

func init() {
	add := func(c uint8, ws ...string) {
		for _, w := range ws {
			structWords[w] |= c
		}
	}
	add(cNumber, "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
		"fifteen", "twenty", "thirty", "forty", "fifty", "sixty", "hundred", "thousand", "million", "billion",
		"half", "dozen", "twice", "double", "triple", "third", "quarter", "fifth")
	add(cOp, "each", "per", "every", "twice", "half", "double", "triple", "times", "percent", "remaining", "left", "rest",
		"remainder", "total", "altogether", "average", "more", "less", "fewer", "than", "third", "quarter", "dozen",
		"difference", "sum", "product", "ratio", "split", "shared", "divided", "increase", "increases", "decrease",
		"decreases", "profit", "discount", "interest", "combined", "twice", "thrice", "longer", "shorter", "older", "younger")
	add(cChain, "it", "its", "them", "that", "those", "these", "this", "remaining", "rest", "remainder", "left", "same",
		"original", "originally", "other", "another", "previous", "new", "then", "after", "afterwards", "now")
	add(cCondition, "if", "unless", "suppose", "supposing", "assume", "assuming", "whether", "when", "otherwise")
	add(cNegation, "not", "no", "never", "none", "cannot", "can't", "isn't", "aren't", "doesn't", "don't", "won't",
		"except", "neither", "nor", "without", "false", "incorrect", "least", "untrue", "invalid")
	add(cRoman, "ii", "iii", "iv", "vi")
	add(cInstruction, "write", "compose", "describe", "explain", "draft", "create", "imagine", "rewrite", "list",
		"summarize", "summarise", "pretend", "act", "suggest", "design", "develop", "provide", "give", "translate",
		"edit", "evaluate", "critique", "rephrase", "generate", "outline", "discuss", "compare", "implement", "identify")
	add(cContext, "previous", "above", "earlier", "your", "response", "again", "instead", "rewrite", "rephrase")
}

// smallSet is a 1,024-bit set of hashes.
type smallSet [16]uint64

func (b *smallSet) add(h uint32) bool {
	h %= 1024
	if b[h/64]&(1<<(h%64)) != 0 {
		return false
	}
	b[h/64] |= 1 << (h % 64)
	return true
}

func (b *smallSet) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// structure writes the structure features of text into f at their
// positions (f is zeroed by extract). It is one pass over the bytes and
// allocates nothing.
//
// An answer option is a line that starts with a capital letter and '.' or
// ')' and a space ("A. 4", "B) True"), or "(C) "; it runs to the end of the
// line. The question is the last sentence that ends with '?'.
func structure(text string, f []float64) {
	var (
		sentences, words, nums   int
		sentWords, sentNums      int // at the start of the current sentence
		numberSentences          int
		qSetup, qWords, qNums    int
		opSeen                   uint64 // bit per distinct op cue (hash mod 64)
		opt                      = -1   // current option, -1 outside
		optFirst                 = -1   // offset of the first option
		optChars                 [8]int
		optNumeric               int
		optCur, optAny, optTwice smallSet
		tok                      [32]byte
		sentHasNum               bool
	)
	lineStart := true
	for i := 0; i < len(text); {
		c := text[i]
		if lineStart {
			lineStart = false
			if k, n := optionMarker(text[i:]); k >= 0 {
				opt = k
				if optFirst < 0 {
					optFirst = i
				}
				optCur = smallSet{}
				end := i + n
				for end < len(text) && text[end] != '\n' {
					end++
				}
				if m := int(f[sOptions]); m < len(optChars) {
					optChars[m] = end - i - n
				}
				f[sOptions]++
				if r := text[i+n:]; len(r) > 0 && (isDigit(r[0]) || len(r) > 1 && (r[0] == '-' || r[0] == '$') && isDigit(r[1])) {
					optNumeric++
				}
				i += n
				continue
			}
		}
		switch {
		case c == '\n':
			f[sLines]++
			lineStart, opt = true, -1
			i++
		case c == '.' || c == '?' || c == '!':
			if i+1 == len(text) || isSpace(text[i+1]) {
				if sentHasNum {
					numberSentences++
				}
				if c == '?' {
					qSetup, qWords, qNums = sentences, words-sentWords, nums-sentNums
				}
				sentences++
				sentWords, sentNums, sentHasNum = words, nums, false
			}
			i++
		case isDigit(c):
			for i < len(text) && (isDigit(text[i]) || (text[i] == '.' || text[i] == ',' || text[i] == '/') && i+1 < len(text) && isDigit(text[i+1])) {
				i++
			}
			nums++
			sentHasNum = true
		case isLetter(c) || c == '\'':
			j, n, upper := i, 0, true
			for j < len(text) && (isLetter(text[j]) || text[j] == '\'') {
				if n < len(tok) {
					tok[n] = text[j] | 0x20
					n++
				}
				if text[j] >= 'a' && text[j] <= 'z' {
					upper = false
				}
				j++
			}
			w := tok[:n]
			words++
			if opt >= 0 {
				h := fnvBytes(w)
				if optCur.add(h) && !optAny.add(h) {
					optTwice.add(h)
				}
			}
			cls := structWords[string(w)] // no allocation: the compiler reads the map with the bytes
			if cls&cNumber != 0 {
				nums++
				sentHasNum = true
			}
			if cls&cOp != 0 {
				f[sOpCues]++
				opSeen |= 1 << (fnvBytes(w) % 64)
			}
			if cls&cChain != 0 {
				f[sChainRefs]++
			}
			if cls&cCondition != 0 {
				f[sConditions]++
			}
			if cls&cNegation != 0 {
				f[sNegations]++
				if upper && n > 1 {
					f[sCapsNegations]++
				}
			}
			if cls&cRoman != 0 && upper {
				f[sRoman]++
			}
			if cls&cInstruction != 0 {
				f[sInstructions]++
			}
			if cls&cContext != 0 {
				f[sContextRefs]++
			}
			i = j
		case c == '=' || c == '+' || c == '^' || c == '*' || c == '<' || c == '>' || c == '|' || c == '\\':
			f[sMathSymbols]++
			i++
		case c == '{' || c == '}' || c == ';' || c == '_' || c == '`' || c == '[' || c == ']' || c == '#':
			f[sCodeSymbols]++
			i++
		case c == 0xE2 && i+1 < len(text) && text[i+1] >= 0x88 && text[i+1] <= 0x8B, // U+2200–U+22FF, mathematical operators
			c == 0xC3 && i+1 < len(text) && (text[i+1] == 0x97 || text[i+1] == 0xB7), // × and ÷
			(c == 0xCE || c == 0xCF) && i+1 < len(text) && text[i+1] >= 0x80:         // Greek letters
			f[sMathSymbols]++
			i += 2
		default:
			i++
		}
	}
	if sentHasNum || (sentences == 0 && nums > 0) {
		numberSentences++
	}
	f[sQuantities] = float64(nums)
	f[sDistinctOpCues] = float64(bits.OnesCount64(opSeen))
	f[sNumberSentences] = float64(numberSentences)
	f[sSetupSentences] = float64(qSetup)
	f[sQuestionWords] = float64(qWords)
	f[sQuestionNumbers] = float64(qNums)
	if k := int(min(f[sOptions], float64(len(optChars)))); k > 0 {
		var sum, lo, hi float64
		lo = math.Inf(1)
		for _, n := range optChars[:k] {
			v := float64(n)
			sum += v
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		mean := sum / float64(k)
		f[sOptionLogChars] = math.Log1p(mean)
		f[sOptionSpread] = (hi - lo) / (mean + 1)
		if a := optAny.count(); a > 0 {
			f[sOptionOverlap] = float64(optTwice.count()) / float64(a)
		}
		f[sNumericOptions] = float64(optNumeric) / f[sOptions]
	}
	stem := len(text)
	if optFirst >= 0 {
		stem = optFirst
	}
	f[sStemLogChars] = math.Log1p(float64(stem))
}

// optionMarker reports whether s starts with an answer option's marker
// ("A. ", "B) ", "(C) "): the option's index (A = 0) and the marker's
// length, or -1.
func optionMarker(s string) (int, int) {
	switch {
	case len(s) >= 3 && s[0] >= 'A' && s[0] <= 'H' && (s[1] == '.' || s[1] == ')') && s[2] == ' ':
		return int(s[0] - 'A'), 3
	case len(s) >= 4 && s[0] == '(' && s[1] >= 'A' && s[1] <= 'H' && s[2] == ')' && s[3] == ' ':
		return int(s[1] - 'A'), 4
	}
	return -1, 0
}
