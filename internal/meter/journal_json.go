package meter

import (
	"slices"
	"strconv"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/jsonw"
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
	if len(r.Tags) > 0 {
		// Sorted keys, as encoding/json writes a map.
		keys := make([]string, 0, len(r.Tags))
		for k := range r.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"tags":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendJSONString(b, k), ':')
			b = appendJSONString(b, r.Tags[k])
		}
		b = append(b, '}')
	}
	b = appendStringField(b, `,"end_user":`, r.EndUser, true)
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

// appendJSONString appends s as a JSON string (see jsonw.AppendString).
func appendJSONString(b []byte, s string) []byte { return jsonw.AppendString(b, s) }
