package openai

import (
	"bytes"
	"encoding/json"
	"errors"
)

// A minimal scanner over raw JSON bytes, for the pass-through path: it
// finds a top-level member's value without decoding anything else, so a
// body can be forwarded with one field changed and no re-encoding. It
// checks structure only as far as it needs to; the upstream validates the
// rest.

var errNotObject = errors.New("body is not a JSON object")

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"',
// or -1.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// skipValue returns the index after the value starting at or after b[i],
// or -1.
func skipValue(b []byte, i int) int {
	i = skipWS(b, i)
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	j := i
	for j < len(b) {
		c := b[j]
		if c == ',' || c == '}' || c == ']' || isSpace(c) {
			break
		}
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// member is one key/value pair of an object; key excludes the quotes,
// value spans [vs, ve).
type member struct {
	key    []byte
	vs, ve int
}

// objIter walks the members of the object starting at b[open] == '{'.
type objIter struct {
	b   []byte
	i   int
	err error
}

func newObjIter(b []byte, open int) objIter {
	open = skipWS(b, open)
	if open >= len(b) || b[open] != '{' {
		return objIter{err: errNotObject}
	}
	return objIter{b: b, i: open + 1}
}

func (it *objIter) next() (member, bool) {
	if it.err != nil {
		return member{}, false
	}
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) {
		it.err = errNotObject
		return member{}, false
	}
	if b[i] == '}' {
		it.i = i + 1
		return member{}, false
	}
	if b[i] != '"' {
		it.err = errNotObject
		return member{}, false
	}
	ke := skipString(b, i)
	if ke < 0 {
		it.err = errNotObject
		return member{}, false
	}
	m := member{key: b[i+1 : ke-1]}
	i = skipWS(b, ke)
	if i >= len(b) || b[i] != ':' {
		it.err = errNotObject
		return member{}, false
	}
	m.vs = skipWS(b, i+1)
	m.ve = skipValue(b, m.vs)
	if m.ve < 0 {
		it.err = errNotObject
		return member{}, false
	}
	it.i = m.ve
	return m, true
}

// keyIs compares a raw (possibly escaped) key with name.
func keyIs(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key) == name
	}
	var s string
	if json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &s) != nil {
		return false
	}
	return s == name
}

// find returns the last top-level member called name (encoding/json and
// Python's json keep the last of duplicate keys).
func find(b []byte, name string) (member, bool, error) {
	it := newObjIter(b, 0)
	var found member
	ok := false
	for m, more := it.next(); more; m, more = it.next() {
		if keyIs(m.key, name) {
			found, ok = m, true
		}
	}
	return found, ok, it.err
}

// isEmptyObject reports whether the object at b[open] has no members.
func isEmptyObject(b []byte, open int) bool {
	i := skipWS(b, open+1)
	return i < len(b) && b[i] == '}'
}

// splice returns b with [s, e) replaced by repl, in a new slice.
func splice(b []byte, s, e int, repl ...[]byte) []byte {
	n := len(b) - (e - s)
	for _, r := range repl {
		n += len(r)
	}
	out := make([]byte, 0, n)
	out = append(out, b[:s]...)
	for _, r := range repl {
		out = append(out, r...)
	}
	return append(out, b[e:]...)
}
