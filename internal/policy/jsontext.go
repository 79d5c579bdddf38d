package policy

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Texts may be JSON (tool-call arguments always are, tool results often
// are) or prose that quotes JSON. The helpers here treat any "..." in a
// text as a JSON string literal: scanning sees its unescaped content, so
// "a\u0040b.com" is an email, and rewriting keeps the JSON valid.

// literalEnd returns the index after the closing quote of the string
// literal starting at t[i] == '"', or -1 when it is not closed.
func literalEnd(t string, i int) int {
	for k := i + 1; k < len(t); k++ {
		switch t[k] {
		case '\\':
			k++
		case '"':
			return k + 1
		}
	}
	return -1
}

// decodeLiteral returns the content of a JSON string literal (with its
// quotes) with every valid escape decoded. An invalid escape ("\q") is
// kept as written and does not stop the others from being decoded, so one
// bad escape cannot hide "\u0040".
func decodeLiteral(lit string) string {
	body := lit[1 : len(lit)-1]
	if strings.IndexByte(body, '\\') < 0 {
		return body
	}
	var s string
	if err := json.Unmarshal([]byte(lit), &s); err == nil {
		return s
	}
	b := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b = append(b, c)
			continue
		}
		switch e := body[i+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'u':
			if r, err := strconv.ParseUint(body[i+2:min(i+6, len(body))], 16, 32); err == nil && i+6 <= len(body) {
				b = utf8.AppendRune(b, rune(r))
				i += 5
				continue
			}
			b = append(b, c, e)
		default:
			b = append(b, c, e)
		}
		i++
	}
	return string(b)
}

// unescapeJSONish appends t to dst with every string literal's escapes
// decoded (the quotes are kept).
func unescapeJSONish(dst []byte, t string) []byte {
	for i := 0; i < len(t); {
		q := strings.IndexByte(t[i:], '"')
		if q < 0 {
			return append(dst, t[i:]...)
		}
		dst = append(dst, t[i:i+q]...)
		i += q
		e := literalEnd(t, i)
		if e < 0 {
			return append(dst, t[i:]...)
		}
		dst = append(dst, '"')
		dst = append(dst, decodeLiteral(t[i:e])...)
		dst = append(dst, '"')
		i = e
	}
	return dst
}

// rewriteJSONish rewrites t: inside string literals, lit maps the decoded
// content (the literal is re-encoded only when it changed); outside them,
// other maps the raw text.
func rewriteJSONish(t string, lit, other func(string) string) string {
	var b strings.Builder
	for i := 0; i < len(t); {
		q := strings.IndexByte(t[i:], '"')
		e := -1
		if q >= 0 {
			e = literalEnd(t, i+q)
		}
		if q < 0 || e < 0 {
			b.WriteString(other(t[i:]))
			break
		}
		b.WriteString(other(t[i : i+q]))
		l := t[i+q : e]
		dec := decodeLiteral(l)
		if r := lit(dec); r != dec {
			b.WriteString(quoteJSON(r))
		} else {
			b.WriteString(l)
		}
		i = e
	}
	return b.String()
}

// quoteJSON encodes s as a JSON string literal (without HTML escaping).
func quoteJSON(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	b.WriteString(escapeJSON(s))
	b.WriteByte('"')
	return b.String()
}

// escapeJSON escapes s for use inside a JSON string literal.
func escapeJSON(s string) string {
	need := false
	for k := 0; k < len(s); k++ {
		if c := s[k]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			need = true
			break
		}
	}
	if !need {
		return s
	}
	var b strings.Builder
	const hex = "0123456789abcdef"
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
