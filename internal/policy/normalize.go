package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Detection runs on a normalised copy of each text, so that look-alike
// writing cannot hide a value from the detectors:
//
//   - NFKC compatibility mapping, rune by rune: full-width "＠" and "４",
//     ligatures, superscript digits and NBSP become their plain forms;
//   - invisible characters are removed: the soft hyphen (U+00AD), every
//     format character (category Cf: zero-width ones, word joiner,
//     invisible separator, U+180E, bidi controls, tag characters), the
//     variation selectors and the combining grapheme joiner; so is a
//     combining mark on an ASCII character ("4\u0332" drawn underlined);
//   - dingbat and double-circled digits ("❹", "➀", "⓵") become digits,
//     ideographic full stops and middle dots ("。", "·", "•") '.', and a
//     few Latin letters drawn like another ("ı", "ɑ") that letter;
//   - Unicode dashes and minus signs become '-';
//   - percent-escapes of printable ASCII ("ann%40example.com", "%20")
//     and HTML character references ("&#64;", "&#x40;", "&commat;") are
//     decoded: text copied from a URL or a web page reads, to a model, as
//     the value it spells;
//   - Cyrillic and Greek letters drawn exactly like a Latin one (Cyrillic
//     "а", "е", "о", "р", "с", Greek "ο", "Α", ...: the look-alikes of
//     Unicode's confusables list) become that letter, since a model reads
//     "аnn@exаmple.cоm" as the address it spells; letters of those
//     scripts with no Latin double are left alone;
//   - decimal digits of every script (Arabic-Indic "٤", Devanagari "४",
//     Bengali, Thai ...: Unicode category Nd, which NFKC leaves alone)
//     become the ASCII digit of the same value, since a model reads
//     "٤١١١ ١١١١ ١١١١ ١١١١" as the card it spells;
//   - a run of spaces and tabs (with at most one '-') between digit groups
//     becomes one space (or '-'), as in "4111  1111  1111  1111";
//   - '/', '_', '|', '+' and '*' joining groups of digits in a run of at
//     least 12 digits (a card or account number written
//     "4111/1111/1111/1111") become '-',
//     and so does '.' when there are three groups or more of at least four
//     digits each ("4111.1111.1111.1111", never an IPv4 address).
//
// Spans found in the normalised text are mapped back to the original
// bytes, so redaction replaces what the client actually wrote.

// normalizer holds the scratch state of one evaluation.
type normalizer struct {
	out  []byte
	offs []int32 // offs[k]: byte of the original rune that produced out[k]
}

// needsNormalizing reports whether t has anything normalize would change:
// a non-ASCII byte, or '/' or '_' between digits.
func needsNormalizing(t string) bool {
	for k := 0; k < len(t); k++ {
		// Skip a run of bytes no rule below looks at (not after a digit,
		// whose gap rule looks at any byte): one table load a byte, where
		// the rules took five comparisons.
		if plainByte[t[k]] && (k == 0 || !isDigit(t[k-1])) {
			for k++; k < len(t) && plainByte[t[k]]; k++ {
			}
			if k == len(t) {
				break
			}
		}
		c := t[k]
		if c >= utf8.RuneSelf {
			return true
		}
		if c == '%' || c == '&' {
			if _, n := escapeAt(t, k); n > 0 {
				return true
			}
		}
		if isGroupSep(c) && c != '.' && k > 0 && k+1 < len(t) && isDigit(t[k-1]) && isDigit(t[k+1]) {
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

func isDigit(c byte) bool { return c-'0' < 10 }

// plainByte marks the ASCII bytes needsNormalizing passes over: all but
// digits and the bytes its rules start at.
var plainByte = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = !isDigit(byte(c)) && !strings.ContainsRune("%&/_.|+*", rune(c))
	}
	return t
}()

// normalize returns the normalised form of t (valid until the next call).
// Use span to map a span of it back to t.
func (n *normalizer) normalize(t string) string {
	n.out, n.offs = n.out[:0], n.offs[:0]
	var tmp [utf8.UTFMax * 4]byte
	var rb [utf8.UTFMax]byte
	for i := 0; i < len(t); {
		c := t[i]
		var r rune
		var size int
		if c == '%' || c == '&' {
			r, size = escapeAt(t, i)
		}
		switch {
		case size > 0 && r < utf8.RuneSelf:
			n.out = append(n.out, byte(r))
			n.offs = append(n.offs, int32(i))
			i += size
			continue
		case size > 0:
		case c < utf8.RuneSelf:
			n.out = append(n.out, c)
			n.offs = append(n.offs, int32(i))
			i++
			continue
		default:
			r, size = utf8.DecodeRuneInString(t[i:])
		}
		switch {
		case isFormat(r) || isVariationSelector(r) || r == '\u034f':
			// invisible: dropped (zero-width characters, the soft hyphen,
			// every other format character (word joiner, invisible
			// separator, U+180E, bidi controls, tag characters), the
			// variation selectors and the combining grapheme joiner)
		case isCombining(r) && len(n.out) > 0 && n.out[len(n.out)-1] < utf8.RuneSelf:
			// a combining mark on an ASCII character ("4\u0332" drawn
			// underlined, "4\u0336" struck through): the model reads the
			// character under it
		case r == '\u3002' || r == '\uff61' || r == '\u00b7' || r == '\u2022' || r == '\u2027' || r == '\u2219' || r == '\u30fb':
			// ideographic full stops (IDNA reads them as '.') and middle dots
			n.out = append(n.out, '.')
			n.offs = append(n.offs, int32(i))
		case dingbatDigit(r) >= 0:
			if v := dingbatDigit(r); v == 10 {
				n.out = append(n.out, '1', '0')
				n.offs = append(n.offs, int32(i), int32(i))
			} else {
				n.out = append(n.out, '0'+byte(v))
				n.offs = append(n.offs, int32(i))
			}
		case latinExtraDouble(r) != 0:
			n.out = append(n.out, latinExtraDouble(r))
			n.offs = append(n.offs, int32(i))
		case r >= '\u2010' && r <= '\u2015' || r == '\u2212' || r == '\ufe63' || r == '\uff0d':
			n.out = append(n.out, '-')
			n.offs = append(n.offs, int32(i))
		case unicode.IsDigit(r):
			n.out = append(n.out, '0'+decimalValue(r))
			n.offs = append(n.offs, int32(i))
		case r >= 0x370 && r < 0x530 && latinDouble[r] != 0:
			n.out = append(n.out, latinDouble[r])
			n.offs = append(n.offs, int32(i))
		default:
			m := norm.NFKC.Append(tmp[:0], utf8.AppendRune(rb[:0], r)...)
			for _, b := range m {
				n.out = append(n.out, b)
				n.offs = append(n.offs, int32(i))
			}
		}
		i += size
	}
	n.digitGaps()
	n.digitSeparators()
	return string(n.out)
}

// digitGap reports whether a wide gap between digit groups starts at
// b[k] (b[k-1] is a digit): a run of spaces and tabs holding at most one
// '-', followed by a digit, that is not already a single space or dash.
// It returns what the gap reads as (' ' or '-') and its length, or 0.
func digitGap[T string | []byte](b T, k int) (byte, int) {
	sep, j := byte(' '), k
	for ; j < len(b) && j-k < 8; j++ {
		switch c := b[j]; {
		case c == ' ' || c == '\t':
		case c == '-' && sep == ' ':
			sep = '-'
		default:
			if !isDigit(c) || j == k || (j == k+1 && b[k] != '\t') {
				return 0, 0
			}
			return sep, j - k
		}
	}
	return 0, 0
}

// digitGaps reads a wide gap between digit groups as the single space or
// dash the detectors expect: "4111  1111  1111  1111", "4111 - 1111 -
// 1111 - 1111" and tab-separated groups are the card they spell. Only
// spaces and tabs (and one dash) are read so: digits on separate lines
// stay apart.
func (n *normalizer) digitGaps() {
	b, offs := n.out, n.offs
	w := 0
	for i := 0; i < len(b); {
		if i > 0 && isDigit(b[i-1]) {
			if sep, k := digitGap(b, i); k > 0 {
				b[w], offs[w] = sep, offs[i]
				w++
				i += k
				continue
			}
		}
		b[w], offs[w] = b[i], offs[i]
		w++
		i++
	}
	n.out, n.offs = b[:w], offs[:w]
}

// decimalValue returns the value of a decimal digit (category Nd). Unicode
// encodes every script's decimal digits as a contiguous run from zero to
// nine (a stability guarantee; runs of several scripts may adjoin), so the
// value is the offset from the start of the run, modulo 10.
func decimalValue(r rune) byte {
	for _, rg := range unicode.Nd.R16 {
		if lo, hi := rune(rg.Lo), rune(rg.Hi); r >= lo && r <= hi {
			return byte((r - lo) % 10)
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if lo, hi := rune(rg.Lo), rune(rg.Hi); r >= lo && r <= hi {
			return byte((r - lo) % 10)
		}
	}
	return 0
}

func allDigits(t string) bool {
	for k := 0; k < len(t); k++ {
		if !isDigit(t[k]) {
			return false
		}
	}
	return true
}

// digitSeparators rewrites '/' and '_' to '-' in digit-group runs of at
// least 12 digits joined by one of them ("4111_1111_1111_1111"). Dates
// and fractions have fewer digits and keep their slashes. '.' is read so
// too when every group has at least four digits and there are at least
// three ("4111.1111.1111.1111"): IPv4 addresses and version numbers have
// shorter groups, decimals fewer.
func (n *normalizer) digitSeparators() {
	b := n.out
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			i++
			continue
		}
		j, digits, sep := i, 0, byte(0)
		groups, run, short := 1, 0, false
		for j < len(b) {
			if isDigit(b[j]) {
				digits++
				run++
				j++
				continue
			}
			if isGroupSep(b[j]) && (sep == 0 || sep == b[j]) && j+1 < len(b) && isDigit(b[j+1]) {
				sep = b[j]
				groups++
				short = short || run < 4
				run = 0
				j++
				continue
			}
			break
		}
		short = short || run < 4
		if sep == '.' && (short || groups < 3) {
			sep = 0
		}
		if sep != 0 && digits >= 12 {
			for k := i; k < j; k++ {
				if b[k] == sep {
					b[k] = '-'
				}
			}
		}
		i = j
	}
}

// span maps the normalised span [s, e) back to the original text t.
func (n *normalizer) span(t string, s, e int) (int, int) {
	os := int(n.offs[s])
	last := int(n.offs[e-1])
	_, size := utf8.DecodeRuneInString(t[last:])
	if t[last] == '%' || t[last] == '&' {
		if _, k := escapeAt(t, last); k > 0 {
			size = k
		}
	}
	return os, last + size
}

// entities are the named HTML character references decoded: those that
// spell the punctuation of the values detected.
var entities = map[string]rune{
	"commat": '@', "period": '.', "amp": '&', "nbsp": ' ', "lowbar": '_', "hyphen": '-', "dash": '-',
	"plus": '+', "colon": ':', "sol": '/', "lpar": '(', "rpar": ')', "num": '#', "percnt": '%', "equals": '=',
}

// escapeAt decodes the escape at t[i] (a '%' or '&'): a percent-escape of
// printable ASCII ("%40") or an HTML character reference ("&#64;",
// "&#x40;", "&commat;"; the ';' of a numeric one may be left out, as
// browsers allow). It returns the rune and the escape's length, or 0, 0.
func escapeAt(t string, i int) (rune, int) {
	if t[i] == '%' {
		if i+2 < len(t) && isHex(t[i+1]) && isHex(t[i+2]) {
			if b := unhex(t[i+1])<<4 | unhex(t[i+2]); b >= 0x20 && b < 0x7f {
				return rune(b), 3
			}
		}
		return 0, 0
	}
	j := i + 1
	if j < len(t) && t[j] == '#' {
		j++
		hex := j < len(t) && (t[j] == 'x' || t[j] == 'X')
		base := rune(10)
		if hex {
			j++
			base = 16
		}
		var r rune
		k := j
		for ; k < len(t) && k-j < 7; k++ {
			switch c := t[k]; {
			case isDigit(c):
				r = r*base + rune(c-'0')
			case hex && isHex(c):
				r = r*16 + rune(unhex(c))
			default:
				goto done
			}
		}
	done:
		if k == j || r == 0 || r > unicode.MaxRune || !utf8.ValidRune(r) {
			return 0, 0
		}
		if k < len(t) && t[k] == ';' {
			k++
		}
		return r, k - i
	}
	k := j
	for k < len(t) && k-j < 8 && (t[k] >= 'a' && t[k] <= 'z') {
		k++
	}
	if k < len(t) && t[k] == ';' {
		if r, ok := entities[t[j:k]]; ok {
			return r, k + 1 - i
		}
	}
	return 0, 0
}

func isHex(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// latinDouble maps the Greek and Cyrillic letters drawn exactly like a
// Latin letter to it (a subset of Unicode's confusables.txt, letters only:
// https://www.unicode.org/Public/security/latest/confusables.txt).
var latinDouble = map[rune]byte{
	// Cyrillic
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x',
	'ѕ': 's', 'і': 'i', 'ј': 'j', 'һ': 'h', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O',
	'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X', 'Ѕ': 'S', 'І': 'I', 'Ј': 'J',
	'Ү': 'Y', 'Ԛ': 'Q', 'Ԝ': 'W', 'Ӏ': 'I',
	// Greek
	'ο': 'o', 'ν': 'v', 'ι': 'i', 'α': 'a', 'ρ': 'p', 'υ': 'u',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K',
	'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
}

// isGroupSep reports whether c may join the digit groups of a long number
// (see digitSeparators).
func isGroupSep(c byte) bool {
	return c == '/' || c == '_' || c == '.' || c == '|' || c == '+' || c == '*'
}

func isVariationSelector(r rune) bool {
	return r >= '\ufe00' && r <= '\ufe0f' || r >= 0xe0100 && r <= 0xe01ef
}

// dingbatDigit returns the value of a circled digit NFKC leaves alone
// (the dingbat and double-circled ones: "❹", "➀", "⓵", "⓿"), or -1.
// "①" and "⓪" have compatibility mappings and need none.
func dingbatDigit(r rune) int {
	switch {
	case r >= 0x2776 && r <= 0x2793:
		return int(r-0x2776)%10 + 1
	case r >= 0x24f5 && r <= 0x24fe:
		return int(r-0x24f5) + 1
	case r == 0x24ff || r == 0x1f10b || r == 0x1f10c:
		return 0
	}
	return -1
}

// latinExtraDouble maps Latin and IPA letters drawn like a basic Latin
// one (dotless "ı", Latin alpha "ɑ", script "ɡ", dotless "ȷ", iota "ɩ",
// the dental click "ǀ") to that letter, and any other rune to 0.
func latinExtraDouble(r rune) byte {
	switch r {
	case '\u0131', '\u0269':
		return 'i'
	case '\u0251':
		return 'a'
	case '\u0261':
		return 'g'
	case '\u0237':
		return 'j'
	case '\u01c0':
		return 'l'
	}
	return 0
}

// isFormat reports whether r is the soft hyphen or a format character
// (category Cf), without a table search for the runes of the BMP.
func isFormat(r rune) bool {
	switch {
	case r < 0x600:
		return r == 0xad
	case r < 0x2000:
		return r <= 0x605 || r == 0x61c || r == 0x6dd || r == 0x70f || r == 0x890 || r == 0x891 || r == 0x8e2 || r == 0x180e
	case r < 0x10000:
		return r >= 0x200b && r <= 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2060 && r <= 0x2064 || r >= 0x2066 && r <= 0x206f ||
			r == 0xfeff || r >= 0xfff9 && r <= 0xfffb
	}
	return unicode.Is(unicode.Cf, r)
}

// isCombining reports whether r is in a block of combining marks drawn
// over any letter or digit: diacritical marks (U+0300..U+036F, with their
// extensions and supplement), the marks for symbols (U+20D0..U+20FF: the
// keycap of "4\u20e3", the enclosing circle) and the half marks.
func isCombining(r rune) bool {
	return r >= 0x300 && r <= 0x36f || r >= 0x1ab0 && r <= 0x1aff || r >= 0x1dc0 && r <= 0x1dff ||
		r >= 0x20d0 && r <= 0x20ff || r >= 0xfe20 && r <= 0xfe2f
}
