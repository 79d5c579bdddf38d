package jsonscan

import (
	"bytes"
	"encoding/json"

	"github.com/fulcrumhq/fulcrum/internal/jsonw"
)

// SetModel returns doc with its top-level "model" value replaced by the
// JSON string model, every other byte kept: the one rewrite the
// pass-through path makes, for every wire format. The rule is the same
// for all of them: a top-level "model" must be a string (else an *Error,
// which the gateway turns into a 400 naming the field); a document without
// one gets it inserted first; every top-level "model" member is rewritten,
// so that a duplicate cannot smuggle another model past it (Walk refuses
// duplicates anyway). It is idempotent, so a retry may apply it again, and
// returns doc itself when nothing changes.
func SetModel(doc []byte, model string) ([]byte, error) {
	s := scanner{b: doc}
	s.space()
	if !s.consume('{') {
		return nil, &Error{Offset: s.i, Reason: "the body is not a JSON object"}
	}
	type span struct{ start, end int }
	var buf [2]span
	spans := buf[:0]
	s.space()
	if !s.consume('}') {
		for {
			s.space()
			ks := s.i
			if !s.skipString() {
				return nil, &Error{Offset: ks, Reason: "expected an object key"}
			}
			key := doc[ks:s.i]
			s.space()
			if !s.consume(':') {
				return nil, &Error{Offset: s.i, Reason: "expected ':'"}
			}
			s.space()
			vs := s.i
			if !s.skipValue(0) {
				return nil, &Error{Offset: vs, Reason: "invalid value"}
			}
			if isKey(key, "model") {
				if doc[vs] != '"' {
					return nil, &Error{Offset: vs, Reason: "model must be a string"}
				}
				spans = append(spans, span{vs, s.i})
			}
			s.space()
			if s.consume(',') {
				continue
			}
			if s.consume('}') {
				break
			}
			return nil, &Error{Offset: s.i, Reason: "expected ',' or '}'"}
		}
	}
	quoted := jsonw.AppendString(make([]byte, 0, len(model)+2), model)
	if len(spans) == 0 {
		// Insert right after the opening brace.
		open := 0
		for doc[open] != '{' {
			open++
		}
		out := make([]byte, 0, len(doc)+len(quoted)+10)
		out = append(out, doc[:open+1]...)
		out = append(out, `"model":`...)
		out = append(out, quoted...)
		rest := doc[open+1:]
		if t := trimSpace(rest); len(t) > 0 && t[0] != '}' {
			out = append(out, ',')
		}
		return append(out, rest...), nil
	}
	same := true
	for _, sp := range spans {
		same = same && string(doc[sp.start:sp.end]) == string(quoted)
	}
	if same {
		return doc, nil
	}
	out := make([]byte, 0, len(doc)+len(quoted))
	prev := 0
	for _, sp := range spans {
		out = append(out, doc[prev:sp.start]...)
		out = append(out, quoted...)
		prev = sp.end
	}
	return append(out, doc[prev:]...), nil
}

// isKey compares a raw JSON key (with quotes, possibly escaped) to name.
func isKey(raw []byte, name string) bool {
	if len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name {
		return true
	}
	for _, c := range raw {
		if c == '\\' {
			var k string
			return json.Unmarshal(raw, &k) == nil && k == name
		}
	}
	return false
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// scanner skips over JSON values without decoding them.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) skipString() bool {
	if !s.consume('"') {
		return false
	}
	end := StringEnd(s.b, s.i)
	if end == len(s.b) {
		s.i = end
		return false
	}
	s.i = end + 1
	return true
}

// StringEnd returns the index of the quote that closes a JSON string
// whose content starts at b[i] (just after its opening quote), or len(b)
// when the string is not closed. It jumps from quote to quote
// (bytes.IndexByte) and counts the backslashes before each: a quote after
// an odd number of them is escaped. Prompts are most of a request's bytes,
// so this is what skipping them costs: about 70 times less than a loop
// over every byte (BenchmarkStringEnd). It does not validate the string.
func StringEnd(b []byte, i int) int {
	for {
		k := bytes.IndexByte(b[i:], '"')
		if k < 0 {
			return len(b)
		}
		j := i + k
		n := 0
		for j-1-n >= i && b[j-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return j
		}
		i = j + 1
	}
}

// maxDepth bounds nesting, as encoding/json does, so hostile bodies cannot
// exhaust the stack.
const skipMaxDepth = 10000

func (s *scanner) skipValue(depth int) bool {
	if depth > skipMaxDepth || s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '"':
		return s.skipString()
	case '{', '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.i++
		s.space()
		if s.consume(end) {
			return true
		}
		for {
			s.space()
			if c == '{' {
				if !s.skipString() {
					return false
				}
				s.space()
				if !s.consume(':') {
					return false
				}
				s.space()
			}
			if !s.skipValue(depth + 1) {
				return false
			}
			s.space()
			if s.consume(',') {
				continue
			}
			return s.consume(end)
		}
	default:
		// Numbers and literals: everything up to a delimiter.
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return s.i > start
			}
			s.i++
		}
		return s.i > start
	}
}
