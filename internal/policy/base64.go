package policy

import (
	"encoding/base64"
	"unicode"
	"unicode/utf8"
)

// Base64. A run of base64 in a text (an Anthropic document's "data"
// whose media type is text/plain, a value a client encoded in prose) is
// decoded, and when what it spells is text, that text is scanned too: a
// model reads it, and an upstream decodes such a document itself. A value
// found there cannot be redacted in the encoded bytes, so its class is
// fixed: a redacting request stays home. Runs that decode to anything but
// text (images, PDFs, keys, hashes, random ids) are left alone, and so
// are the segments of a JWT (joined by '.'), which the secret detector
// reads whole.

// minBase64 is the shortest run decoded: 12 bytes of text, shorter than
// any e-mail address or card worth finding, longer than most words.
const minBase64 = 16

// maxBase64 bounds the bytes of one run decoded.
const maxBase64 = 1 << 20

func isBase64Byte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
}

// scanBase64 scans the text that the base64 runs of t decode to.
func (ev *evaluator) scanBase64(t string) {
	for i := 0; i < len(t); {
		if !isBase64Byte(t[i]) {
			i++
			continue
		}
		j := i
		for j < len(t) && isBase64Byte(t[j]) {
			j++
		}
		k := j
		for k < len(t) && k-j < 2 && t[k] == '=' {
			k++
		}
		if j-i >= minBase64 && j-i <= maxBase64 && (i == 0 || t[i-1] != '.') && (k == len(t) || t[k] != '.') {
			if text, ok := ev.decodeBase64(t[i:j]); ok {
				ev.scanNormal(text, true)
			}
		}
		i = k
	}
}

// decodeBase64 decodes run (standard or URL alphabet, padding stripped)
// and reports whether it spells text: valid UTF-8 of printable characters
// and white space. It looks at the first bytes before decoding the rest.
func (ev *evaluator) decodeBase64(run string) (string, bool) {
	enc := base64.RawStdEncoding
	for k := 0; k < len(run); k++ {
		if run[k] == '-' || run[k] == '_' {
			enc = base64.RawURLEncoding
			break
		}
	}
	for k := 0; k < len(run); k++ {
		if enc == base64.RawURLEncoding && (run[k] == '+' || run[k] == '/') {
			return "", false
		}
	}
	head := run[:min(len(run), 64)&^3]
	var probe [48]byte
	n, err := enc.Decode(probe[:], []byte(head))
	if err != nil || !isText(probe[:n], len(head) == len(run)) {
		return "", false
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
