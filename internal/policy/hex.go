package policy

import (
	"strings"
)

// Hex and spelled-out digits. Like base64 (base64.go), they are ways a
// client can write a value so that no detector reads it as written while a
// model reads it without effort: "ask the model to decode this hex" is the
// usual first try at getting a card number past a gateway. Both are
// decoded and what they spell is scanned; a value found there cannot be
// redacted in the bytes as written, so its class is fixed (a redacting
// request stays home).
//
// Hex is read as a run of byte pairs, either contiguous ("4a6f686e...",
// with or without a leading 0x) or each pair separated by the same one
// character (' ', ':', '-', ',') or prefixed with \x or 0x ("\x4a\x6f",
// "0x4a 0x6f"), and only when the bytes are printable text: hashes, ids and
// keys decode to anything but text and are left alone, and so is a plain
// decimal number, whose pairs spell control characters.
//
// Spelled digits are number words for single digits ("four one one one
// ...", "oh" and "o" for zero; French, German, Spanish and Italian too:
// digitWords), mixed with digit groups or not,
// separated by white space, hyphens, commas or dots. A run of at least
// minSpelled digits holding at least two words, or at least minSpelled
// single digits standing alone ("4 1 1 1 1 ..."), is read as its digits
// written together.

// minHexBytes is the fewest bytes a hex run must spell to be decoded: a
// short e-mail address; shorter runs are words ("facade", "c0ffee") or
// colours.
const minHexBytes = 8

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hexPair decodes the pair at t[i:i+2].
func hexPair(t string, i int) (byte, bool) {
	if i+1 >= len(t) {
		return 0, false
	}
	hi, ok1 := hexVal(t[i])
	lo, ok2 := hexVal(t[i+1])
	return hi<<4 | lo, ok1 && ok2
}

// hexAt reads hex at the run t[i:j] and returns where what it read ends
// (j when nothing was read): the run itself when it is all pairs (after
// an optional 0x), or pairs separated or prefixed (hexRun) when it is one
// pair, \x or 0x and a pair, or pairs joined by '-'.
func (ev *evaluator) hexAt(t string, i, j int) int {
	if c := t[i]; !isHexAt(t, i) && c != 'x' && c != 'X' {
		return j
	}
	run := t[i:j]
	p := i
	switch {
	case len(run) >= 2 && run[0] == '0' && (run[1] == 'x' || run[1] == 'X'):
		p = i + 2
	case len(run) >= 1 && (run[0] == 'x' || run[0] == 'X') && i > 0 && t[i-1] == '\\':
		p = i + 1
	}
	if j-p >= 2*minHexBytes {
		// Contiguous.
		if (j-p)%2 != 0 {
			return j
		}
		ev.hex = ev.hex[:0]
		for q := p; q < j; q += 2 {
			b, ok := hexPair(t, q)
			if !ok {
				return j
			}
			ev.hex = append(ev.hex, b)
		}
		if isText(ev.hex, true) {
			ev.scanNormal(string(ev.hex), true)
		}
		return j
	}
	if j-p != 2 && (j-p < 5 || t[p+2] != '-') || !isHexAt(t, p) || !isHexAt(t, p+1) {
		return j
	}
	n, end := ev.hexRun(t, p)
	if n >= minHexBytes && isText(ev.hex, true) {
		ev.scanNormal(string(ev.hex), true)
	}
	return max(end, j)
}

// hexRun decodes the separated pairs starting at t[i] into ev.hex and
// returns how many bytes they hold and where they end. The separator is
// whatever follows the first pair (one of " :-,", or a \x / 0x prefix,
// with an optional space before it), and every later pair must use the
// same.
func (ev *evaluator) hexRun(t string, i int) (int, int) {
	ev.hex = ev.hex[:0]
	b, ok := hexPair(t, i)
	if !ok {
		return 0, i + 1
	}
	ev.hex = append(ev.hex, b)
	j := i + 2
	sep := ""
	switch {
	case j < len(t) && strings.IndexByte(" :-,", t[j]) >= 0 && j+2 < len(t) && !isHexAt(t, j+3):
		sep = t[j : j+1]
	case strings.HasPrefix(t[j:], `\x`) || strings.HasPrefix(t[j:], "0x"):
		sep = t[j : j+2]
	case strings.HasPrefix(t[j:], ` \x`) || strings.HasPrefix(t[j:], " 0x"):
		sep = t[j : j+3]
	}
	if sep == "" {
		return 1, j
	}
	for strings.HasPrefix(t[j:], sep) {
		b, ok := hexPair(t, j+len(sep))
		if !ok || isHexAt(t, j+len(sep)+2) {
			break
		}
		ev.hex = append(ev.hex, b)
		j += len(sep) + 2
	}
	return len(ev.hex), j
}

// isHexAt reports whether t[i] is a hex digit.
func isHexAt(t string, i int) bool {
	if i >= len(t) {
		return false
	}
	_, ok := hexVal(t[i])
	return ok
}

// minSpelled is the fewest digits a spelled run must hold to be read: a
// short phone number.
const minSpelled = 7

// digitWordStart has bit n-1 of a letter's entry set when a digit word of
// n letters starts with it.
var digitWordStart = func() (m [26]uint8) {
	for w := range digitWords {
		m[w[0]-'a'] |= 1 << (len(w) - 1)
	}
	return m
}()

// maxDigitWord is the longest digit word's length.
const maxDigitWord = 7

// digitWords are the number words for single digits in English ("oh"
// and "o" for zero, as read aloud), French, German, Spanish and Italian,
// as written without accents (zero, funf or fuenf): a card or account
// number dictated in the caller's language. A run needs at least
// minSpelled digits, two of them words, with nothing but separators
// between, so the words shared with prose ("un", "dos", "sei", "neuf")
// do not make one alone.
var digitWords = map[string]byte{
	"zero": '0', "oh": '0', "o": '0', "nought": '0', "one": '1', "two": '2', "three": '3', "four": '4',
	"five": '5', "six": '6', "seven": '7', "eight": '8', "nine": '9',
	// French
	"un": '1', "deux": '2', "trois": '3', "quatre": '4', "cinq": '5', "sept": '7', "huit": '8', "neuf": '9',
	// German
	"null": '0', "eins": '1', "zwei": '2', "drei": '3', "vier": '4', "funf": '5', "fuenf": '5', "sechs": '6',
	"sieben": '7', "acht": '8', "neun": '9',
	// Spanish
	"cero": '0', "uno": '1', "dos": '2', "tres": '3', "cuatro": '4', "cinco": '5', "seis": '6', "siete": '7',
	"ocho": '8', "nueve": '9',
	// Italian
	"due": '2', "tre": '3', "quattro": '4', "cinque": '5', "sei": '6', "sette": '7', "otto": '8', "nove": '9',
}

// digitWord returns the digit a number word (lower case) names.
func digitWord(w []byte) (byte, bool) {
	d, ok := digitWords[string(w)]
	return d, ok
}

// spelling is the run of spelled digits being read: its digits, how many
// were words and how many single digits standing alone, and where its
// last part ended.
type spelling struct {
	digits  []byte
	words   int
	singles int
	end     int
}

// spellRun adds the run t[i:j] (its parts between hyphens) to the spelled
// digits being read, or ends them.
func (ev *evaluator) spellRun(t string, i, j int) {
	for p := i; p < j; {
		q := strings.IndexByte(t[p:j], '-')
		if q < 0 {
			q = j
		} else {
			q += p
		}
		ev.spellPart(t, p, q)
		p = q + 1
	}
}

func (ev *evaluator) spellPart(t string, p, q int) {
	sp := &ev.spell
	if p == q {
		return
	}
	if len(sp.digits) > 0 {
		for g := sp.end; g < p; g++ {
			if c := t[g]; c != ' ' && c != ',' && c != '.' && c != '-' && c != '\t' && c != '\n' {
				ev.spellFlush()
				break
			}
		}
	}
	part := t[p:q]
	switch c := part[0]; {
	case c >= '0' && c <= '9':
		for k := 1; k < len(part); k++ {
			if part[k] < '0' || part[k] > '9' {
				ev.spellFlush()
				return
			}
		}
		sp.digits = append(sp.digits, part...)
		if len(part) == 1 {
			sp.singles++
		}
	case len(part) > maxDigitWord || c|0x20 < 'a' || c|0x20 > 'z' || digitWordStart[c|0x20-'a']&(1<<(len(part)-1)) == 0:
		// Most words: no digit word starts with this letter and has
		// this length.
		if len(sp.digits) > 0 {
			ev.spellFlush()
		}
		return
	default:
		var w [maxDigitWord]byte
		for k := 0; k < len(part); k++ {
			w[k] = part[k] | 0x20
		}
		d, ok := digitWord(w[:len(part)])
		if !ok {
			ev.spellFlush()
			return
		}
		sp.digits = append(sp.digits, d)
		sp.words++
	}
	sp.end = q
}

// spellFlush scans the spelled digits read, when they are enough and at
// least two of them were words or minSpelled were single digits standing
// alone ("4 1 1 1 ...", "4,1,1,1,...": a number's digits written apart,
// which the number detectors, reading groups, do not join), and starts
// again.
func (ev *evaluator) spellFlush() {
	sp := &ev.spell
	if len(sp.digits) >= minSpelled && (sp.words >= 2 || sp.singles >= minSpelled) {
		ev.scanNormal(string(sp.digits), true)
	}
	sp.digits, sp.words, sp.singles = sp.digits[:0], 0, 0
}
