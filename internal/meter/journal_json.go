package meter

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendRecordJSON appends rec as the JSON encoding/json would write for
// it (the same fields, names and omitempty rules, so parseLine reads it
// with json.Unmarshal), without reflection: it runs on every request.
// Strings are escaped as JSON needs; unlike encoding/json, '<', '>' and
// '&' are left as they are, which JSON allows.
func appendRecordJSON(b []byte, r *Record) []byte {
	b = append(b, `{"time":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","request_id":`...)
	b = appendJSONString(b, r.RequestID)
	b = append(b, `,"attempt":`...)
	b = strconv.AppendInt(b, int64(r.Attempt), 10)
	b = appendStringField(b, `,"key_id":`, r.KeyID, true)
	b = appendStringField(b, `,"team":`, r.Team, true)
	b = appendStringField(b, `,"model":`, r.Model, false)
	b = appendStringField(b, `,"provider":`, r.Provider, false)
	b = appendStringField(b, `,"upstream_model":`, r.UpstreamModel, false)
	b = appendStringField(b, `,"hosting":`, r.Hosting, false)
	b = appendIntField(b, `,"status":`, int64(r.Status), false)
	b = appendIntField(b, `,"latency_ms":`, r.LatencyMS, false)
	b = appendIntField(b, `,"ttft_ms":`, r.TTFTMS, true)
	b = appendIntField(b, `,"input_tokens":`, r.InputTokens, false)
	b = appendIntField(b, `,"output_tokens":`, r.OutputTokens, false)
	b = appendIntField(b, `,"cached_tokens":`, r.CachedTokens, true)
	b = appendIntField(b, `,"cache_write_tokens":`, r.CacheWriteTokens, true)
	b = appendIntField(b, `,"reasoning_tokens":`, r.ReasoningTokens, true)
	b = appendIntField(b, `,"cost_nanos":`, r.CostNanos, false)
	b = appendIntField(b, `,"reference_cost_nanos":`, r.ReferenceCostNanos, true)
	if r.Estimated {
		b = append(b, `,"estimated":true`...)
	}
	if len(r.DataClasses) > 0 {
		b = append(b, `,"data_classes":[`...)
		for i, c := range r.DataClasses {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, c)
		}
		b = append(b, ']')
	}
	b = appendStringField(b, `,"policy_action":`, r.PolicyAction, true)
	b = appendStringField(b, `,"error_code":`, r.ErrorCode, true)
	return append(b, '}')
}

func appendStringField(b []byte, name, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	return appendJSONString(append(b, name...), v)
}

func appendIntField(b []byte, name string, v int64, omitEmpty bool) []byte {
	if omitEmpty && v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, name...), v, 10)
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
