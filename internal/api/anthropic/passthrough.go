package anthropic

import (
	"encoding/json"
	"errors"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Helpers for the pass-through path: an Anthropic client talking to an
// Anthropic upstream, the body forwarded as bytes.

var errNotJSONObject = errors.New("anthropic: body is not a JSON object")

// SetModel returns body with its top-level "model" value replaced by model,
// touching no other byte. It is idempotent, so a retry may apply it again.
// When the body has no "model" key, one is added first. Every top-level
// "model" key is rewritten, so a duplicate cannot smuggle another model
// past the rewrite.
func SetModel(body []byte, model string) ([]byte, error) {
	s := scanner{b: body}
	s.space()
	if !s.consume('{') {
		return nil, errNotJSONObject
	}
	type span struct{ start, end int }
	var spans []span
	s.space()
	if !s.consume('}') {
		for {
			s.space()
			ks := s.i
			if !s.skipString() {
				return nil, errNotJSONObject
			}
			key := body[ks:s.i]
			s.space()
			if !s.consume(':') {
				return nil, errNotJSONObject
			}
			s.space()
			vs := s.i
			if !s.skipValue(0) {
				return nil, errNotJSONObject
			}
			if isKey(key, "model") {
				spans = append(spans, span{vs, s.i})
			}
			s.space()
			if s.consume(',') {
				continue
			}
			if s.consume('}') {
				break
			}
			return nil, errNotJSONObject
		}
	}
	quoted := appendString(make([]byte, 0, len(model)+2), model)
	if len(spans) == 0 {
		// Insert right after the opening brace.
		open := 0
		for body[open] != '{' {
			open++
		}
		out := make([]byte, 0, len(body)+len(quoted)+10)
		out = append(out, body[:open+1]...)
		out = append(out, `"model":`...)
		out = append(out, quoted...)
		rest := body[open+1:]
		if t := trimSpace(rest); len(t) > 0 && t[0] != '}' {
			out = append(out, ',')
		}
		return append(out, rest...), nil
	}
	out := make([]byte, 0, len(body)+len(quoted))
	prev := 0
	for _, sp := range spans {
		out = append(out, body[prev:sp.start]...)
		out = append(out, quoted...)
		prev = sp.end
	}
	return append(out, body[prev:]...), nil
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
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return true
		default:
			s.i++
		}
	}
	return false
}

// maxDepth bounds nesting, as encoding/json does, so hostile bodies cannot
// exhaust the stack.
const maxDepth = 10000

func (s *scanner) skipValue(depth int) bool {
	if depth > maxDepth || s.i >= len(s.b) {
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

// ResponseUsage reads the usage of a non-streamed Anthropic Message body,
// or returns nil when it has none.
func ResponseUsage(body []byte) *llm.Usage {
	var w struct {
		Usage *wireUsage `json:"usage"`
	}
	if json.Unmarshal(body, &w) != nil || w.Usage == nil {
		return nil
	}
	return canonicalUsage(w.Usage)
}

// UsageTap watches a forwarded Anthropic event stream for its usage:
// message_start (input and cache counts) and message_delta (output tokens,
// and whichever counts it repeats). Content events are skipped without
// being decoded. One UsageTap serves one stream; it is not safe for
// concurrent use.
type UsageTap struct {
	usage wireUsage
	seen  bool
}

// Event looks at one SSE event of the forwarded stream.
func (t *UsageTap) Event(event string, data []byte) {
	switch event {
	case "message_start":
		var ev struct {
			Message struct {
				Usage wireUsage `json:"usage"`
			} `json:"message"`
		}
		if json.Unmarshal(data, &ev) == nil {
			t.usage.merge(&ev.Message.Usage)
			t.seen = true
		}
	case "message_delta":
		var ev struct {
			Usage *wireUsage `json:"usage"`
		}
		if json.Unmarshal(data, &ev) == nil && ev.Usage != nil {
			t.usage.merge(ev.Usage)
			t.seen = true
		}
	}
}

// Usage returns the usage seen so far, nil when none was.
func (t *UsageTap) Usage() *llm.Usage {
	if !t.seen {
		return nil
	}
	return canonicalUsage(&t.usage)
}
