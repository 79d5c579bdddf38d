package policy

import (
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Seams. Texts a model reads in sequence (content parts, consecutive
// messages, prompt items: see prose) are also read across each seam, so
// that a value split in two ("card 4111 1111", "1111 1111") is found.
//
// What is read of each side is its compact form: invisible characters
// (zero-width, soft hyphen) dropped and a run of white space kept as one
// character (a newline when it holds one), as the detectors read them
// after normalisation. So padding between the pieces (a text of 80
// spaces, or of zero-width joiners) cannot push one piece out of the
// window. A window cut inside a token (a run without white space) is
// widened to the whole token, up to seamToken bytes, so that a long value
// split after a short prefix (a JWT cut after its header, an API key
// after "sk-") is read whole.

// seamWindow is how much of two neighbouring texts is read across their
// seam: enough for a card, an IBAN, a phone number or an e-mail address
// split in two.
const seamWindow = 64

// seamToken bounds how far a window is widened to take in a token it
// would cut.
const seamToken = 4096

// seamBudget is how many bytes the seams of a body of n bytes may read
// with windows widened to whole tokens (see seam): 8 times the body and
// 2 MB more. Prose texts need a small part of it (a seam reads two
// windows of seamWindow bytes); a list of thousands of ids, each its own
// text, rolls into one long token and can use it up; then the windows
// are no longer widened.
func seamBudget(n int) int { return 2<<20 + 8*n }

// seam scans the join of the previous prose texts' tail and t's head. The
// texts are joined as they are and with a space between. A value found
// across the seam cannot be redacted in one piece: its class is fixed,
// which keeps a redacting request home.
func (ev *evaluator) seam(t string) {
	// Windows are widened to whole tokens (of up to seamToken bytes) while
	// the bytes the seams have read are within the body's budget: texts
	// joined without white space roll into one token, so 200,000
	// one-letter parts made each seam read a 4 KB token again, 9 s of CPU
	// for a 6 MB body. Past the budget the windows are seamWindow bytes.
	widen := seamToken
	if ev.seamLeft < 0 {
		widen = 0
	}
	if len(ev.tail) > 0 {
		ev.seamLeft -= 2 * (len(ev.tail) + seamWindow)
		ev.head = compactHead(ev.head[:0], t, seamWindow, widen)
		a := len(ev.tail)
		ev.crossing = ev.crossing[:0]
		for k, sep := range [...]string{"", " "} {
			ev.join = append(append(append(ev.join[:0], ev.tail...), sep...), ev.head...)
			// A view, not a copy: nothing keeps the text past scanSeam
			// (spans are offsets and class names), and join is not
			// written to until the next join.
			ev.scanSeam(unsafe.String(unsafe.SliceData(ev.join), len(ev.join)), a, a+len(sep), k)
		}
		ev.judgeSeam()
		ev.seamBase64()
	}
	// The tail rolls over short texts, so a value cut into several small
	// pieces is still read whole at its last seam.
	ev.piece = compactTail(ev.piece[:0], t, seamWindow, widen)
	if len(ev.piece) >= seamWindow {
		ev.tail = append(ev.tail[:0], ev.piece...)
		return
	}
	p := ev.piece
	if endsSpace(ev.tail) {
		for len(p) > 0 {
			r, size := utf8.DecodeRune(p)
			if !unicode.IsSpace(r) {
				break
			}
			p = p[size:]
		}
	}
	ev.tail = append(ev.tail, p...)
	if cut := tokenStart(ev.tail, len(ev.tail)-seamWindow, widen); cut > 0 {
		ev.tail = append(ev.tail[:0], ev.tail[cut:]...)
	}
}

// scanSeam scans a joined text and notes, as crossing, only the values
// that start before the seam [a, b) and end after it: the others lie
// within one text and were found there.
func (ev *evaluator) scanSeam(src string, a, b, join int) {
	t := src
	normalized := needsNormalizing(src)
	if normalized {
		t = ev.norm.normalize(src)
	}
	for _, s := range ev.e.scanner.Scan(t, ev.p.mask, ev.spans[:0]) {
		start, end := s.Start, s.End
		if normalized {
			start, end = ev.norm.span(src, start, end)
		}
		switch {
		case start < a && end > b:
			ev.crossing = append(ev.crossing, seamHit{class: s.Class, start: start, right: end - b, join: join})
		case start >= b && join == 1:
			// Wholly in the head: a value its text alone holds was
			// found there; one found only here took its context word
			// from the text before ("my SSN", "is 078051120").
			ev.crossing = append(ev.crossing, seamHit{class: s.Class, start: start, right: end - b, join: join, head: true})
		}
	}
}

// judgeSeam counts the values that cross the seam as split. A value found
// whole on one side was found (and redacted) in that text: the join only
// extended it ("ann@example.com" + "and then?" reads as the address
// example.comand). Only a value neither side holds alone is split, or one
// that crosses the seam whether or not a space is put in it: a private
// key block whose header ends one text and whose body starts the next.
func (ev *evaluator) judgeSeam() {
	tail, head := ev.tail, ev.head
	for i, h := range ev.crossing {
		if ev.seamCounted(i) {
			continue
		}
		if h.head {
			if !ev.holds(unsafe.String(unsafe.SliceData(head), min(h.right, len(head))), h.class) {
				ev.count(h.class, 1)
				ev.fix(h.class)
			}
			continue
		}
		both := false
		for _, o := range ev.crossing {
			if o.join != h.join && o.class == h.class && o.start == h.start {
				both = true
			}
		}
		if both || !ev.holds(unsafe.String(unsafe.SliceData(tail[h.start:]), len(tail)-h.start), h.class) &&
			!ev.holds(unsafe.String(unsafe.SliceData(head), min(h.right, len(head))), h.class) {
			ev.count(h.class, 1)
			ev.fix(h.class)
		}
	}
	ev.crossing = ev.crossing[:0]
}

// seamCounted reports whether an earlier crossing value was the same
// value (the same class from the same start, in the other join).
func (ev *evaluator) seamCounted(i int) bool {
	h := ev.crossing[i]
	for _, o := range ev.crossing[:i] {
		if o.class == h.class && o.start == h.start {
			return true
		}
	}
	return false
}

// seamHit is a value found across a seam: its class, its start in the
// tail, its end in the head and the join it was found in.
type seamHit struct {
	class        string
	start, right int
	join         int
	head         bool // wholly in the head
}

// holds reports whether t alone contains a value of class.
func (ev *evaluator) holds(t, class string) bool {
	if needsNormalizing(t) {
		t = ev.norm.normalize(t)
	}
	for _, s := range ev.e.scanner.Scan(t, ev.p.mask, nil) {
		if s.Class == class {
			return true
		}
	}
	return false
}

// invisible reports whether normalisation drops r.
func invisible(r rune) bool {
	return isFormat(r) || isVariationSelector(r) || r == '\u034f'
}

// compactHead appends to dst the compact form of t's start: at least n
// bytes of it (all of t when shorter), more when n cuts a token, up to
// widen bytes.
func compactHead(dst []byte, t string, n, widen int) []byte {
	start := len(dst)
	for i := 0; i < len(t); {
		if plainASCII(t[i]) {
			// A run of ASCII that is neither white space nor invisible is
			// copied whole, up to the limit (rune by rune, this was a
			// quarter of a short request's policy scan).
			j := i + 1
			for j < len(t) && plainASCII(t[j]) {
				j++
			}
			room := n + widen - (len(dst) - start)
			if room <= 0 {
				return dst
			}
			if j-i > room {
				return append(dst, t[i:i+room]...)
			}
			dst = append(dst, t[i:j]...)
			i = j
			continue
		}
		r, size := decodeRune(t, i)
		switch {
		case invisible(r):
			i += size
			continue
		case isSpace(r):
			if len(dst)-start >= n {
				return dst
			}
			j, nl := i, false
			for j < len(t) {
				r, size := decodeRune(t, j)
				if !isSpace(r) && !invisible(r) {
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

// compactTail appends to dst the compact form of t's end: at least n
// bytes of it (all of t when shorter), more to start at a token's start,
// up to widen bytes.
func compactTail(dst []byte, t string, n, widen int) []byte {
	// Find where the compact form's last n bytes start, then widen to the
	// token's start, counting compact bytes backwards.
	i, got, space := len(t), 0, false
	for i > 0 {
		if plainASCII(t[i-1]) {
			// A run of plain ASCII counts byte for byte, up to the limit.
			j := i - 1
			for j > 0 && plainASCII(t[j-1]) {
				j--
			}
			room := n + widen - got
			if room <= 0 {
				return compactHead(dst, t[i:], len(t), 0)
			}
			if i-j > room {
				return compactHead(dst, t[i-room:], len(t), 0)
			}
			got += i - j
			space = false
			i = j
			continue
		}
		r, size := decodeLastRune(t, i)
		switch {
		case invisible(r):
		case isSpace(r):
			if got >= n {
				return compactHead(dst, t[i:], len(t), 0)
			}
			if !space {
				got++
			}
			space = true
		default:
			if got >= n+widen {
				return compactHead(dst, t[i:], len(t), 0)
			}
			got += size
			space = false
		}
		i -= size
	}
	return compactHead(dst, t, len(t), 0)
}

// plainASCII reports whether c is an ASCII byte that compaction copies as
// it is: not white space (and no ASCII byte is invisible).
func plainASCII(c byte) bool {
	return c < utf8.RuneSelf && c != ' ' && (c < '\t' || c > '\r')
}

// isSpace is unicode.IsSpace with its ASCII answer inline.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || r >= '\t' && r <= '\r'
	}
	return unicode.IsSpace(r)
}

// decodeRune is utf8.DecodeRuneInString(t[i:]) with ASCII inline.
func decodeRune(t string, i int) (rune, int) {
	if c := t[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(t[i:])
}

// decodeLastRune is utf8.DecodeLastRuneInString(t[:i]) with ASCII inline.
func decodeLastRune(t string, i int) (rune, int) {
	if c := t[i-1]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeLastRuneInString(t[:i])
}

// tokenStart returns cut (a byte offset in b, possibly negative: then 0),
// lowered to the start of the token it falls in (at most widen bytes
// lower) and to the start of a rune.
func tokenStart(b []byte, cut, widen int) int {
	if cut <= 0 {
		return 0
	}
	lo := max(0, cut-widen)
	k := cut
	for k > lo && b[k-1] != ' ' && b[k-1] != '\n' && b[k-1] != '\t' {
		k--
	}
	for k < len(b) && !utf8.RuneStart(b[k]) {
		k++
	}
	return k
}

// endsSpace reports whether b ends with white space.
func endsSpace(b []byte) bool {
	r, _ := utf8.DecodeLastRune(b)
	return len(b) > 0 && unicode.IsSpace(r)
}
