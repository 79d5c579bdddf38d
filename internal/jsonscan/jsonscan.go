// Package jsonscan reads a JSON document exactly as a conforming upstream
// would (RFC 8259) and hands every string in it, object keys included, to
// a visitor, with the string's decoded text and the byte range of its
// literal in the document. It refuses what an upstream could read in more
// than one way: invalid JSON, invalid escapes ("\q"), lone UTF-16
// surrogates, invalid UTF-8, two keys in one object that are equal under
// Unicode case folding ("content" and "Content": Go's encoding/json
// matches keys case-insensitively and keeps the last, other parsers keep
// the first or match exactly), nesting deeper than the limit (MaxDepth,
// or a Reader's), and anything after the top-level value.
//
// It exists so that data policy can scan the very bytes that will be sent
// upstream, whatever their fields, instead of a decoded model that may
// differ from them (see docs/sovereignty.md). Rewrite re-encodes the
// strings a visitor chose to change and leaves every other byte as it was.
//
// It imports only package jsonw (a leaf).
package jsonscan

import (
	"encoding/binary"
	"strconv"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth is the deepest nesting of objects and arrays Walk and WalkAll
// accept, and the gateway's default server.max_json_depth. JSON schemas in
// tool definitions and response formats nest a few dozen levels at most;
// parsers that recurse (Python's json, many SDKs) fail somewhere around a
// thousand.
const MaxDepth = 128

// DepthLimit is the deepest nesting any Reader accepts, whatever it asks
// for: the reader recurses once per level. server.max_json_depth may not
// exceed it, so that a body the gateway accepts is always read (and
// scanned) to the end.
const DepthLimit = 10000

// Reader is Walk and WalkAll with a nesting limit of the caller's: the
// gateway's server.max_json_depth, so that the scan never refuses as too
// deep a body the gateway's own limit accepted. The zero Reader uses
// MaxDepth.
type Reader struct {
	// MaxDepth is the deepest nesting accepted (the top-level object or
	// array is depth 1); 0 means MaxDepth, more than DepthLimit means
	// DepthLimit.
	MaxDepth int
}

func (r Reader) depth() int {
	switch {
	case r.MaxDepth <= 0:
		return MaxDepth
	case r.MaxDepth > DepthLimit:
		return DepthLimit
	}
	return r.MaxDepth
}

// Walk is the package's Walk with r's nesting limit.
func (r Reader) Walk(doc []byte, visit Visitor) error { return walk(doc, visit, false, r.depth()) }

// WalkAll is the package's WalkAll with r's nesting limit.
func (r Reader) WalkAll(doc []byte, visit Visitor) error { return walk(doc, visit, true, r.depth()) }

// Error says why a document was refused. Offset is the byte at fault.
type Error struct {
	Offset int
	// Reason is short and names no value from the document, so it may be
	// shown to the client and logged.
	Reason string
}

func (e *Error) Error() string {
	return "invalid JSON at byte " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// String is one string of the document, handed to a Visitor.
type String struct {
	// Start and End delimit the literal, quotes included: doc[Start:End].
	Start, End int
	// Key is true for an object key.
	Key bool
	// Number is true for a number (WalkAll only): Text is its literal,
	// and doc[Start:End] has no quotes.
	Number bool
	// Member is the decoded key of the innermost object member this string
	// belongs to ("" at the top level): for a key, the key itself; for a
	// value, the key of the member whose value it is or (in an array) holds
	// it. Valid only during the visit.
	Member string
	// Parent is, for an object key, the key of the member whose value is
	// the object holding it ("" at the top level): "properties" for the
	// property names of a JSON Schema. Empty for values.
	Parent string
	// Text is the decoded string. Valid only during the visit: copy it
	// (strings.Clone) to keep it.
	Text string
}

// Visitor receives each string in document order.
type Visitor func(s *String)

// Walk validates doc and calls visit for every string in it. It returns
// an *Error when doc is refused; visit may then have been called for the
// strings before the fault.
func Walk(doc []byte, visit Visitor) error {
	return walk(doc, visit, false, MaxDepth)
}

// WalkAll is Walk that also visits numbers: a card or account number
// written as a JSON number is data too.
func WalkAll(doc []byte, visit Visitor) error {
	return walk(doc, visit, true, MaxDepth)
}

func walk(doc []byte, visit Visitor, numbers bool, maxDepth int) error {
	w := walkers.Get().(*walker)
	defer w.release()
	w.doc, w.visit, w.numbers, w.maxDepth = doc, visit, numbers, maxDepth
	w.keys = w.keysBuf[:0]
	i, err := w.value(w.ws(0), 0, "")
	if err != nil {
		return err
	}
	if i = w.ws(i); i != len(doc) {
		return &Error{Offset: i, Reason: "unexpected data after the top-level value"}
	}
	return nil
}

// walkers keeps walkers and their escape buffers for the next document:
// the policy stage walks every request, and a walker (its open keys held
// inline) was an allocation of 600 bytes a walk, its buffer one or two
// more for a request with an escaped string.
var walkers = sync.Pool{New: func() any { return new(walker) }}

// maxPooledBuf bounds the escape buffer a pooled walker keeps.
const maxPooledBuf = 64 << 10

// release returns w to the pool holding nothing of the document or the
// visitor: Text and Member were valid only during the visit.
func (w *walker) release() {
	clear(w.keysBuf[:])
	w.doc, w.visit, w.keys, w.str = nil, nil, nil, String{}
	if cap(w.buf) > maxPooledBuf {
		w.buf = nil
	}
	walkers.Put(w)
}

type walker struct {
	doc     []byte
	visit   Visitor
	numbers bool
	// maxDepth is the deepest nesting accepted.
	maxDepth int
	buf      []byte // decoded text of an escaped string
	str      String
	// keys holds the keys of the objects being read, innermost last;
	// each object's keys start at its own offset.
	keys []string
	// keysBuf backs keys until a document has more open keys than it
	// holds: a chat request's (model, messages, role, content, ...) fit,
	// and the walk then allocates nothing but the walker.
	keysBuf [32]string
}

func (w *walker) ws(i int) int {
	for i < len(w.doc) {
		switch w.doc[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (w *walker) fail(i int, reason string) error { return &Error{Offset: i, Reason: reason} }

// value reads the value at i and returns the index after it.
func (w *walker) value(i, depth int, member string) (int, error) {
	if i >= len(w.doc) {
		return i, w.fail(i, "unexpected end of input")
	}
	switch c := w.doc[i]; {
	case c == '{':
		return w.object(i, depth+1, member)
	case c == '[':
		return w.array(i, depth+1, member)
	case c == '"':
		e, _, err := w.string(i, false, member)
		return e, err
	case c == '-' || c >= '0' && c <= '9':
		e, err := w.number(i)
		if err == nil && w.visit != nil && w.numbers {
			w.str = String{Start: i, End: e, Number: true, Member: member, Text: unsafe.String(unsafe.SliceData(w.doc[i:]), e-i)}
			w.visit(&w.str)
		}
		return e, err
	case c == 't':
		return w.literal(i, "true")
	case c == 'f':
		return w.literal(i, "false")
	case c == 'n':
		return w.literal(i, "null")
	}
	return i, w.fail(i, "unexpected character")
}

func (w *walker) literal(i int, lit string) (int, error) {
	if len(w.doc)-i < len(lit) || string(w.doc[i:i+len(lit)]) != lit {
		return i, w.fail(i, "invalid literal")
	}
	return i + len(lit), nil
}

// number checks the RFC 8259 number grammar:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func (w *walker) number(i int) (int, error) {
	d := w.doc
	n := len(d)
	s := i
	if d[i] == '-' {
		i++
	}
	switch {
	case i < n && d[i] == '0':
		i++
	case i < n && d[i] >= '1' && d[i] <= '9':
		for i < n && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return s, w.fail(i, "invalid number")
	}
	if i < n && d[i] == '.' {
		i++
		k := i
		for i < n && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == k {
			return s, w.fail(i, "invalid number")
		}
	}
	if i < n && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < n && (d[i] == '+' || d[i] == '-') {
			i++
		}
		k := i
		for i < n && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == k {
			return s, w.fail(i, "invalid number")
		}
	}
	return i, nil
}

func (w *walker) array(i, depth int, member string) (int, error) {
	if depth > w.maxDepth {
		return i, w.fail(i, "nesting deeper than "+strconv.Itoa(w.maxDepth))
	}
	i = w.ws(i + 1)
	if i < len(w.doc) && w.doc[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = w.value(i, depth, member); err != nil {
			return i, err
		}
		i = w.ws(i)
		if i >= len(w.doc) {
			return i, w.fail(i, "unexpected end of input in array")
		}
		switch w.doc[i] {
		case ',':
			i = w.ws(i + 1)
		case ']':
			return i + 1, nil
		default:
			return i, w.fail(i, "expected ',' or ']'")
		}
	}
}

func (w *walker) object(i, depth int, parent string) (int, error) {
	if depth > w.maxDepth {
		return i, w.fail(i, "nesting deeper than "+strconv.Itoa(w.maxDepth))
	}
	base := len(w.keys)
	defer func() { clear(w.keys[base:]); w.keys = w.keys[:base] }()
	var folded map[string]struct{}
	i = w.ws(i + 1)
	if i < len(w.doc) && w.doc[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(w.doc) || w.doc[i] != '"' {
			return i, w.fail(i, "expected a string key")
		}
		ks := i
		e, key, err := w.string(i, true, parent)
		if err != nil {
			return e, err
		}
		// Refuse a key equal, under case folding, to an earlier one: the
		// reader the policy scans with and the upstream must not pick
		// different members. Small objects compare pairwise; large ones
		// (metadata, schema properties) through a map of folded keys.
		n := len(w.keys) - base
		switch {
		case n < 16:
			for _, k := range w.keys[base:] {
				if equalFold(k, key) {
					return ks, w.fail(ks, "duplicate key (keys must differ in more than letter case)")
				}
			}
		default:
			if folded == nil {
				folded = make(map[string]struct{}, 2*n)
				for _, k := range w.keys[base:] {
					folded[foldKey(k)] = struct{}{}
				}
			}
			f := foldKey(key)
			if _, dup := folded[f]; dup {
				return ks, w.fail(ks, "duplicate key (keys must differ in more than letter case)")
			}
			folded[f] = struct{}{}
		}
		w.keys = append(w.keys, key)
		i = w.ws(e)
		if i >= len(w.doc) || w.doc[i] != ':' {
			return i, w.fail(i, "expected ':' after a key")
		}
		if i, err = w.value(w.ws(i+1), depth, key); err != nil {
			return i, err
		}
		i = w.ws(i)
		if i >= len(w.doc) {
			return i, w.fail(i, "unexpected end of input in object")
		}
		switch w.doc[i] {
		case ',':
			i = w.ws(i + 1)
		case '}':
			return i + 1, nil
		default:
			return i, w.fail(i, "expected ',' or '}'")
		}
	}
}

// string reads the literal at i (w.doc[i] == '"'), visits it, and returns
// the index after it and, for a key, its decoded text (stable: a copy
// when it had escapes).
func (w *walker) string(i int, key bool, member string) (int, string, error) {
	d := w.doc
	n := len(d)
	s := i
	i++
	// Fast path: no escapes and ASCII only.
	for i < n {
		i = plainRun(d, i)
		if i >= n {
			break
		}
		c := d[i]
		if c == '"' {
			text := unsafe.String(unsafe.SliceData(d[s+1:]), i-s-1)
			w.emit(s, i+1, key, member, text)
			return i + 1, text, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	w.buf = append(w.buf[:0], d[s+1:i]...)
	escaped := false
	for i < n {
		c := d[i]
		switch {
		case c == '"':
			var text string
			if !escaped {
				text = unsafe.String(unsafe.SliceData(d[s+1:]), i-s-1)
			} else if key {
				text = string(w.buf)
			} else {
				text = unsafe.String(unsafe.SliceData(w.buf), len(w.buf))
			}
			w.emit(s, i+1, key, member, text)
			return i + 1, text, nil
		case c == '\\':
			escaped = true
			var err error
			if i, err = w.escape(i); err != nil {
				return i, "", err
			}
		case c < 0x20:
			return i, "", w.fail(i, "control character in string")
		case c < utf8.RuneSelf:
			// Copy the whole run of plain ASCII at once.
			j := plainRun(d, i+1)
			w.buf = append(w.buf, d[i:j]...)
			i = j
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size <= 1 {
				return i, "", w.fail(i, "invalid UTF-8")
			}
			w.buf = append(w.buf, d[i:i+size]...)
			i += size
		}
	}
	return i, "", w.fail(s, "unterminated string")
}

// plainRun returns the first index from i at which d holds a byte a
// string scan must look at ('"', '\\', a control character or a non-ASCII
// byte), or len(d). It tests eight bytes at a time (SWAR): prompts are most
// of a request's bytes, and nearly all of them are plain.
func plainRun(d []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for i+8 <= len(d) {
		x := binary.LittleEndian.Uint64(d[i:])
		q := x ^ (ones * '"')
		b := x ^ (ones * '\\')
		// A zero byte in q or b is a quote or a backslash; (x - 0x20…)
		// sets the high bit of a byte below 0x20; x's own high bits are
		// non-ASCII bytes.
		special := ((q - ones) &^ q) | ((b - ones) &^ b) | (x - ones*0x20) | x
		if special&highs != 0 {
			break
		}
		i += 8
	}
	for i < len(d) {
		if c := d[i]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return i
		}
		i++
	}
	return i
}

func (w *walker) emit(start, end int, key bool, member, text string) {
	if w.visit == nil {
		return
	}
	parent := ""
	if key {
		parent, member = member, text
	}
	w.str = String{Start: start, End: end, Key: key, Member: member, Parent: parent, Text: text}
	w.visit(&w.str)
}

// escape decodes the escape sequence at i (d[i] == '\\') into w.buf and
// returns the index after it.
func (w *walker) escape(i int) (int, error) {
	d := w.doc
	if i+1 >= len(d) {
		return i, w.fail(i, "unterminated escape")
	}
	switch d[i+1] {
	case '"', '\\', '/':
		w.buf = append(w.buf, d[i+1])
	case 'b':
		w.buf = append(w.buf, '\b')
	case 'f':
		w.buf = append(w.buf, '\f')
	case 'n':
		w.buf = append(w.buf, '\n')
	case 'r':
		w.buf = append(w.buf, '\r')
	case 't':
		w.buf = append(w.buf, '\t')
	case 'u':
		r, ok := hex4(d, i+2)
		if !ok {
			return i, w.fail(i, `invalid \u escape`)
		}
		if utf16.IsSurrogate(r) {
			// A high surrogate must be followed by an escaped low one.
			r2, ok2 := rune(0), false
			if r < 0xdc00 && i+7 < len(d) && d[i+6] == '\\' && d[i+7] == 'u' {
				r2, ok2 = hex4(d, i+8)
			}
			if !ok2 || r2 < 0xdc00 || r2 > 0xdfff {
				return i, w.fail(i, "lone UTF-16 surrogate in string")
			}
			w.buf = utf8.AppendRune(w.buf, utf16.DecodeRune(r, r2))
			return i + 12, nil
		}
		w.buf = utf8.AppendRune(w.buf, r)
		return i + 6, nil
	default:
		return i, w.fail(i, "invalid escape")
	}
	return i + 2, nil
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// equalFold is strings.EqualFold with an ASCII fast path.
func equalFold(a, b string) bool {
	if len(a) == len(b) {
		ascii := true
		for k := 0; k < len(a); k++ {
			x, y := a[k], b[k]
			if x >= utf8.RuneSelf || y >= utf8.RuneSelf {
				ascii = false
				break
			}
			if x != y && lower(x) != lower(y) {
				return false
			}
		}
		if ascii {
			return true
		}
	}
	return unicodeEqualFold(a, b)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// unicodeEqualFold compares under simple Unicode case folding, as
// strings.EqualFold does (the Kelvin sign folds to k, long s to s).
func unicodeEqualFold(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		a, b = a[na:], b[nb:]
		if foldRune(ra) != foldRune(rb) {
			return false
		}
	}
	return a == b
}

// foldRune returns the smallest rune of r's simple case-folding orbit, a
// representative shared by every rune equal to r under folding.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(lower(byte(r)))
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	if m < utf8.RuneSelf {
		m = rune(lower(byte(m)))
	}
	return m
}

// foldKey maps a key to a representative of its case-folding class.
func foldKey(k string) string {
	b := make([]byte, 0, len(k))
	for _, r := range k {
		b = utf8.AppendRune(b, foldRune(r))
	}
	return string(b)
}
