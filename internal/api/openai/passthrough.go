package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

var includeUsageTrue = []byte(`{"include_usage":true}`)

// SetIncludeUsage makes a streaming request body ask for a final usage
// chunk (stream_options.include_usage = true), inserting or fixing only
// those bytes. It returns body itself when it already asks.
func SetIncludeUsage(body []byte) ([]byte, error) {
	so, ok, err := find(body, "stream_options")
	if err != nil {
		return nil, fmt.Errorf("openai: set include_usage: %w", err)
	}
	if !ok {
		open := skipWS(body, 0)
		repl := []byte(`"stream_options":{"include_usage":true},`)
		if isEmptyObject(body, open) {
			repl = repl[:len(repl)-1]
		}
		return splice(body, open+1, open+1, repl), nil
	}
	if body[so.vs] != '{' {
		return splice(body, so.vs, so.ve, includeUsageTrue), nil
	}
	it := newObjIter(body[:so.ve], so.vs)
	var iu member
	has := false
	for m, more := it.next(); more; m, more = it.next() {
		if keyIs(m.key, "include_usage") {
			iu, has = m, true
		}
	}
	if it.err != nil {
		return nil, fmt.Errorf("openai: set include_usage: %w", it.err)
	}
	if has {
		if string(body[iu.vs:iu.ve]) == "true" {
			return body, nil
		}
		return splice(body, iu.vs, iu.ve, []byte("true")), nil
	}
	repl := []byte(`"include_usage":true,`)
	if isEmptyObject(body, so.vs) {
		repl = repl[:len(repl)-1]
	}
	return splice(body, so.vs+1, so.vs+1, repl), nil
}

// ResponseUsage reads usage from a non-streaming response body; nil when
// there is none.
func ResponseUsage(body []byte) *llm.Usage {
	m, ok, err := find(body, "usage")
	if err != nil || !ok || body[m.vs] != '{' {
		return nil
	}
	return usageOf(body[m.vs:m.ve])
}

var usageKey = []byte(`"usage"`)

// ChunkUsage reads one stream data payload on the pass-through path: the
// usage it reports, if any, and whether it is the usage-only chunk
// (choices: []) that must be dropped for clients that did not ask for
// usage. Payloads that do not mention "usage" cost one bytes.Contains.
func ChunkUsage(data []byte) (u *llm.Usage, usageOnly bool) {
	if !bytes.Contains(data, usageKey) {
		return nil, false
	}
	i := bytes.LastIndex(data, usageKey)
	// Most chunks end with "usage":null; a quote cannot appear unescaped
	// inside a JSON string, so this is the top-level key, not text.
	if j := skipWS(data, i+len(usageKey)); j < len(data) && data[j] == ':' {
		if k := skipWS(data, j+1); bytes.HasPrefix(data[k:], []byte("null")) {
			return nil, false
		}
	}
	it := newObjIter(data, 0)
	var um, cm member
	var hasU, hasC bool
	for m, more := it.next(); more; m, more = it.next() {
		switch {
		case keyIs(m.key, "usage"):
			um, hasU = m, true
		case keyIs(m.key, "choices"):
			cm, hasC = m, true
		}
	}
	if it.err != nil || !hasU || data[um.vs] != '{' {
		return nil, false
	}
	w, ok := readUsage(data[um.vs:um.ve])
	if !ok {
		return nil, false
	}
	empty := !hasC || (data[cm.vs] == '[' && data[skipWS(data, cm.vs+1)] == ']')
	return w.canonical(), empty
}

// maxErrorMessage bounds what is kept of an upstream's error text.
const maxErrorMessage = 500

// ErrorMessage extracts the message from an upstream error body: OpenAI's
// {"error":{"message"}}, and the shapes compatible servers use instead
// ({"error":"..."} from TGI, {"message":"..."} from vLLM, {"detail":...}
// from FastAPI servers). Otherwise it is the trimmed start of the body.
// Never more than 500 bytes.
func ErrorMessage(body []byte) string {
	var w struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	msg := ""
	if json.Unmarshal(body, &w) == nil {
		switch {
		case len(w.Error) > 0 && w.Error[0] == '{':
			var e wireErr
			if json.Unmarshal(w.Error, &e) == nil {
				msg = e.Message
			}
		case len(w.Error) > 0 && w.Error[0] == '"':
			_ = json.Unmarshal(w.Error, &msg)
		}
		if msg == "" {
			msg = w.Message
		}
		if msg == "" && len(w.Detail) > 0 {
			var d []struct {
				Msg string `json:"msg"`
			}
			if json.Unmarshal(w.Detail, &msg) != nil && json.Unmarshal(w.Detail, &d) == nil && len(d) > 0 {
				msg = d[0].Msg
			}
		}
	}
	if msg == "" {
		msg = string(bytes.TrimSpace(body))
	}
	return truncate(strings.TrimSpace(msg), maxErrorMessage)
}

// ErrorFields reads param and code from an upstream's OpenAI error object
// ({"error":{"param","code"}}); "" when absent or null. Clients act on
// them: Codex compacts its history on code "context_length_exceeded", SDKs
// expose both on their error types. A numeric code (llama.cpp) is its
// decimal text.
func ErrorFields(body []byte) (param, code string) {
	var w struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &w) != nil || len(w.Error) == 0 || w.Error[0] != '{' {
		return "", ""
	}
	var e wireErr
	if json.Unmarshal(w.Error, &e) != nil {
		return "", ""
	}
	return truncate(rawText(e.Param), maxErrorMessage), truncate(rawText(e.Code), maxErrorMessage)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
