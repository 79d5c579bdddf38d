package policy

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/fulcrumhq/fulcrum/internal/policy/detect"
)

// Base64. A run of base64 in a text (an Anthropic document's "data"
// whose media type is text/plain, a value a client encoded in prose) is
// decoded, and when what it spells is text, that text is scanned too: a
// model reads it, and an upstream decodes such a document itself. A value
// found there cannot be redacted in the encoded bytes, so its class is
// fixed: a redacting request stays home. Runs that decode to anything but
// text (images, PDFs, keys, hashes, random ids) are left alone, and so are
// the segments of a JWT (joined by '.' to another run), which the secret
// detector reads whole; a '.' that ends a sentence joins nothing.
//
// A run is read as written and, when that spells no text, from its
// second, third and fourth character: a run cut from a longer one (the
// rest of a base64 string whose start ended the previous content part)
// starts anywhere in a 4-character group. Invisible characters (zero
// width, soft hyphen) inside a run are dropped first, as a model skips
// them. A run cut in two across a seam (content parts, messages: see
// seam.go) is read joined (see seamBase64).

// minBase64 is the shortest run decoded: 12 bytes of text, shorter than
// any e-mail address or card worth finding, longer than most words.
const minBase64 = 16

// maxBase64 bounds the bytes of one run decoded.
const maxBase64 = 1 << 20

func isBase64Byte(c byte) bool { return base64Byte[c] }

// base64Byte is isBase64Byte as a table: every byte of every scanned text
// is looked up, and the seven comparisons were 3% of a body's scan.
var base64Byte = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
	}
	return t
}()

// scanBase64 scans the text that the base64 runs of t decode to.
func (ev *evaluator) scanBase64(t string) {
	if hasInvisible(t) {
		ev.vis = dropInvisible(ev.vis[:0], t)
		t = unsafe.String(unsafe.SliceData(ev.vis), len(ev.vis))
	}
	// The runs are also where hex and spelled digits are (hex.go): hex
	// digits and letters are base64 bytes, so the words and numbers of a
	// text are its runs, and reading them here costs one walk of the text.
	hexEnd := 0
	ev.spell = spelling{digits: ev.spell.digits[:0]}
	for i := 0; i < len(t); {
		if !isBase64Byte(t[i]) {
			i++
			continue
		}
		j, dash := i, false
		for j < len(t) && isBase64Byte(t[j]) {
			dash = dash || t[j] == '-'
			j++
		}
		k := j
		for k < len(t) && k-j < 2 && t[k] == '=' {
			k++
		}
		if j-i >= minBase64 && j-i <= maxBase64 && !jwtSegment(t, i, k) {
			if text, ok := ev.decodeRun(t[i:j]); ok {
				ev.scanNormal(text, true)
			}
		}
		// The calls are for the few runs that can be hex or digits: most
		// words are neither, and are told apart here without a call.
		if n, c := j-i, t[i]|0x20; i >= hexEnd && (c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == 'x') &&
			(n == 2 || n >= 2*minHexBytes || n <= 4 && c == 'x' || n == 4 && c == '0' || n >= 5 && t[i+2] == '-') {
			hexEnd = ev.hexAt(t, i, j)
		}
		switch n, c := j-i, t[i]|0x20; {
		case dash:
			ev.spellRun(t, i, j)
		case len(ev.spell.digits) > 0 || t[i] >= '0' && t[i] <= '9' || n <= maxDigitWord && c >= 'a' && c <= 'z' && digitWordStart[c-'a']&(1<<(n-1)) != 0:
			ev.spellPart(t, i, j)
		}
		i = k
	}
	ev.spellFlush()
}

// jwtSegment reports whether the run t[i:k] is joined by a '.' to another
// run before or after it, as a JWT's segments are.
func jwtSegment(t string, i, k int) bool {
	return i >= 2 && t[i-1] == '.' && isBase64Byte(t[i-2]) || k+1 < len(t) && t[k] == '.' && isBase64Byte(t[k+1])
}

// decodeRun decodes run as written or, failing that, from its second,
// third or fourth byte (a run cut from a longer one), and reports whether
// it spells text.
func (ev *evaluator) decodeRun(run string) (string, bool) {
	for off := 0; off < 4 && len(run)-off >= minBase64; off++ {
		if text, ok := ev.decodeBase64(run[off:]); ok {
			return text, true
		}
	}
	return ev.decodeBase32(run)
}

// base32 is RFC 4648's base32, its padding stripped by the run's reader.
var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// decodeBase32 decodes a run written in base32 (RFC 4648: A–Z and 2–7,
// or the same in lower case) and reports whether it spells text: a model
// decodes base32 as it does base64 ("MFXG4QDFPBQW24DMMUXGG33N" is
// ann@example.com). Runs with any other byte, or of a length no base32
// text has, are not base32.
func (ev *evaluator) decodeBase32(run string) (string, bool) {
	switch len(run) % 8 {
	case 1, 3, 6:
		return "", false
	}
	upper, lower := true, true
	for k := 0; k < len(run); k++ {
		c := run[k]
		digit := c >= '2' && c <= '7'
		upper = upper && (digit || c >= 'A' && c <= 'Z')
		lower = lower && (digit || c >= 'a' && c <= 'z')
		if !upper && !lower {
			return "", false
		}
	}
	if need := base32NoPad.DecodedLen(len(run)); cap(ev.b64) < need {
		ev.b64 = make([]byte, need)
	} else {
		ev.b64 = ev.b64[:need]
	}
	src := []byte(run)
	if lower {
		src = bytes.ToUpper(src)
	}
	n, err := base32NoPad.Decode(ev.b64, src)
	if err != nil || !isText(ev.b64[:n], true) {
		return "", false
	}
	return string(ev.b64[:n]), true
}

// decodeBase64 decodes run (standard or URL alphabet, padding stripped)
// and reports whether it spells text: valid UTF-8 of printable characters
// and white space. It looks at the first bytes before decoding the rest.
func (ev *evaluator) decodeBase64(run string) (string, bool) {
	if len(run)%4 == 1 {
		// A last character holding no whole byte (a cut run).
		run = run[:len(run)-1]
	}
	// The head is probed first, its alphabet judged from itself: most
	// runs are no text, and a seam's run can be a 4 KB token read again at
	// every seam, so the whole run is read only for a head that spells
	// text. A head with neither alphabet's own characters decodes the same
	// in both.
	head := run[:min(len(run), 64)&^3]
	enc := base64.RawStdEncoding
	if strings.ContainsAny(head, "-_") {
		enc = base64.RawURLEncoding
	}
	var probe [48]byte
	n, err := enc.Decode(probe[:], []byte(head))
	if err != nil || !isText(probe[:n], len(head) == len(run)) {
		return "", false
	}
	url, std := strings.ContainsAny(run, "-_"), strings.ContainsAny(run, "+/")
	if url && std {
		return "", false
	}
	if url {
		enc = base64.RawURLEncoding
	}
	if need := enc.DecodedLen(len(run)); cap(ev.b64) < need {
		ev.b64 = make([]byte, need)
	} else {
		ev.b64 = ev.b64[:need]
	}
	n, err = enc.Decode(ev.b64, []byte(run))
	if err != nil || !isText(ev.b64[:n], true) {
		return "", false
	}
	return string(ev.b64[:n]), true
}

// seamBase64 reads a base64 run cut at a seam: the run ending the
// previous prose texts' compact tail (before at most two '=' and one
// white space) and the one starting this text's compact head. Unpadded,
// the two are read as one run, cut anywhere; when that spells no text, or
// the first is padded (two strings each whole), each is decoded alone and
// the texts are read joined. Only a value that crosses the join counts,
// and only one neither side holds alone (as judgeSeam): the others were
// found in their own text. Its class is fixed.
func (ev *evaluator) seamBase64() {
	r1, padded := trailingRun(ev.tail)
	r2 := leadingRun(ev.head)
	if len(r1) == 0 || len(r2) == 0 || len(r1)+len(r2) < minBase64 || len(r1)+len(r2) > maxBase64 {
		return
	}
	if !padded {
		ev.b64join = append(append(ev.b64join[:0], r1...), r2...)
		joined := unsafe.String(unsafe.SliceData(ev.b64join), len(ev.b64join))
		for off := 0; off < 4 && off < len(r1) && len(joined)-off >= minBase64; off++ {
			if text, ok := ev.decodeBase64(joined[off:]); ok {
				// The decoded bytes before lo hold only r1's bits, those
				// from hi only r2's.
				bits := 6 * (len(r1) - off)
				ev.seamDecoded(text, bits/8, (bits+7)/8)
				return
			}
		}
	}
	d1, ok1 := ev.decodeRun(unsafe.String(unsafe.SliceData(r1), len(r1)))
	if !ok1 && len(r1) < minBase64 {
		d1, ok1 = ev.decodeBase64(unsafe.String(unsafe.SliceData(r1), len(r1)))
	}
	if !ok1 {
		return
	}
	d2, ok2 := ev.decodeBase64(unsafe.String(unsafe.SliceData(r2), len(r2)))
	if !ok2 {
		return
	}
	ev.seamDecoded(d1+d2, len(d1), len(d1))
}

// seamDecoded scans text, decoded across a seam whose bytes [lo, hi) hold
// bits of both sides, and counts (fixed) the values crossing it that
// neither side holds alone.
func (ev *evaluator) seamDecoded(text string, lo, hi int) {
	t := text
	normalized := needsNormalizing(text)
	if normalized {
		t = ev.norm.normalize(text)
	}
	// Spans are mapped back before holds normalises anything else.
	var hits [8]detect.Span
	crossing := hits[:0]
	for _, s := range ev.e.scanner.Scan(t, ev.p.mask, ev.spans[:0]) {
		if normalized {
			s.Start, s.End = ev.norm.span(text, s.Start, s.End)
		}
		if s.End > lo && s.Start < hi {
			crossing = append(crossing, s)
		}
	}
	for _, s := range crossing {
		if ev.holds(text[s.Start:max(s.Start, min(lo, len(text)))], s.Class) || ev.holds(text[min(max(hi, s.Start), s.End):s.End], s.Class) {
			continue
		}
		ev.count(s.Class, 1)
		ev.fix(s.Class)
	}
}

// trailingRun returns the base64 run that ends b (before at most one white
// space character and two '='), and whether '=' padding followed it; nil
// when it is a JWT segment.
func trailingRun(b []byte) (run []byte, padded bool) {
	k := len(b)
	if k > 0 && (b[k-1] == ' ' || b[k-1] == '\n' || b[k-1] == '\t') {
		k--
	}
	for n := 0; n < 2 && k > 0 && b[k-1] == '='; n++ {
		k--
		padded = true
	}
	i := k
	for i > 0 && isBase64Byte(b[i-1]) {
		i--
	}
	if i >= 2 && b[i-1] == '.' && isBase64Byte(b[i-2]) {
		return nil, false
	}
	return b[i:k], padded
}

// leadingRun returns the base64 run that starts b (after at most one white
// space character); nil when it is a JWT segment.
func leadingRun(b []byte) []byte {
	i := 0
	if i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t') {
		i++
	}
	j := i
	for j < len(b) && isBase64Byte(b[j]) {
		j++
	}
	k := j
	for k < len(b) && k-j < 2 && b[k] == '=' {
		k++
	}
	if k+1 < len(b) && b[k] == '.' && isBase64Byte(b[k+1]) {
		return nil
	}
	return b[i:j]
}

// hasInvisible reports whether t holds a character normalisation drops.
// Their UTF-8 forms start with 0xC2 (U+00AD), 0xE2 (U+200B..U+200D,
// U+2060) or 0xEF (U+FEFF): those bytes are looked for (IndexByte is
// vectorised), not every rune decoded.
func hasInvisible(t string) bool {
	for _, lead := range [...]byte{0xC2, 0xE2, 0xEF} {
		for s := t; ; {
			k := strings.IndexByte(s, lead)
			if k < 0 {
				break
			}
			if r, _ := utf8.DecodeRuneInString(s[k:]); invisible(r) {
				return true
			}
			s = s[k+1:]
		}
	}
	return false
}

// dropInvisible appends t to dst without its invisible characters.
func dropInvisible(dst []byte, t string) []byte {
	for _, r := range t {
		if !invisible(r) {
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// isText reports whether b is printable text; whole says b is all of it
// (otherwise a rune cut at its end is allowed).
func isText(b []byte, whole bool) bool {
	if len(b) == 0 {
		return false
	}
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return !whole && len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		if !unicode.IsPrint(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
		b = b[size:]
	}
	return true
}
