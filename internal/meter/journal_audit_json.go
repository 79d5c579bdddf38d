package meter

import (
	"strconv"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// appendAuditJSON appends r as the JSON encoding/json would write for it
// (the same fields, names and omitempty rules; recovery reads it
// with json.Unmarshal), without reflection: it runs on every request. Unlike
// encoding/json, '<', '>' and '&' are left as they are, which JSON allows.
func appendAuditJSON(b []byte, r *store.AuditRow) []byte {
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
