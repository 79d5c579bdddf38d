package audit

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// appendRowJSON appends r as the JSON encoding/json would write for it
// (the same fields, names and omitempty rules; replay reads it with
// json.Unmarshal), without reflection: it runs on every request. Unlike
// encoding/json, '<', '>' and '&' are left as they are, which JSON allows.
func appendRowJSON(b []byte, r *store.AuditRow) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = append(b, `,"time":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","request_id":`...)
	b = appendJSONString(b, r.RequestID)
	if r.KeyID != "" {
		b = appendJSONString(append(b, `,"key_id":`...), r.KeyID)
	}
	b = append(b, `,"classes":`...)
	b = appendList(b, r.Classes)
	b = appendJSONString(append(b, `,"action":`...), r.Action)
	if len(r.Candidates) > 0 {
		b = appendList(append(b, `,"candidates":`...), r.Candidates)
	}
	if r.Chosen != "" {
		b = appendJSONString(append(b, `,"chosen":`...), r.Chosen)
	}
	if r.ChosenHosting != "" {
		b = appendJSONString(append(b, `,"chosen_hosting":`...), r.ChosenHosting)
	}
	b = appendJSONString(append(b, `,"outcome":`...), r.Outcome)
	b = appendJSONString(append(b, `,"prev_hash":`...), r.PrevHash)
	b = appendJSONString(append(b, `,"hash":`...), r.Hash)
	return append(b, '}')
}

// appendList appends v as a JSON array; nil is null, as encoding/json has it.
func appendList(b []byte, v []string) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, and U+2028 and U+2029 are escaped, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
