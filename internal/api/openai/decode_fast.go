package openai

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// readChatRequest decodes a chat request body into *w exactly as
// json.Unmarshal(b, w) does, and returns the same error. Every client
// request is decoded here, and encoding/json's reflection was 5% of the
// gateway's CPU and a third of the allocations of its own request path.
//
// The common shapes (string fields, text messages and parts, tool calls,
// numbers, booleans, the detected-only parameters kept raw) are read
// without reflection; anything the fast reader is not sure of is left to
// json.Unmarshal itself: escaped or non-lower-case keys (encoding/json
// matches keys case-insensitively, "ſ" and "K" included), a known key given
// twice (encoding/json merges a repeated object or array into the first),
// numbers not written as plain integers where an integer is wanted, a
// value of the wrong type, and the rarer fields (tools, response_format,
// image parts). So the two agree on every input (FuzzReadChatRequest).
//
// What is forwarded does not depend on this: pass-through forwards the
// client's bytes, which the policy stage scans as they are.
func readChatRequest(b []byte, w *chatRequest) error {
	if validJSON(b) && readChatRequestFast(b, w) {
		return nil
	}
	*w = chatRequest{}
	return json.Unmarshal(b, w)
}

// readChatRequestFast reads valid JSON b into the zero *w; false means
// "ask encoding/json" (and *w is then in any state).
func readChatRequestFast(b []byte, w *chatRequest) bool {
	if b = trimWS(b); len(b) == 0 || b[0] != '{' {
		return false // null decodes to the zero request: rare, left to encoding/json
	}
	var seen uint64
	it := newObjIter(b, 0)
	for m, more := it.next(); more; m, more = it.next() {
		if !plainKey(m.key) {
			return false
		}
		v := b[m.vs:m.ve]
		bit, ok := chatRequestKey(string(m.key))
		if !ok {
			continue // not a field: encoding/json skips it too
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		if !readChatField(string(m.key), v, w) {
			return false
		}
	}
	return it.err == nil
}

// chatRequestFields are chatRequest's JSON names; the index is the bit
// that marks a field as seen.
var chatRequestFields = [...]string{
	"model", "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format",
	"max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "stop", "seed",
	"presence_penalty", "frequency_penalty", "n", "user", "stream", "stream_options",
	"logprobs", "top_logprobs", "logit_bias", "service_tier", "reasoning_effort", "prediction",
	"audio", "modalities", "store", "functions", "function_call", "web_search_options",
	"prompt_cache_key", "safety_identifier", "moderation",
}

func chatRequestKey(k string) (uint64, bool) {
	for i, f := range chatRequestFields {
		if f == k {
			return 1 << i, true
		}
	}
	return 0, false
}

// readChatField reads one top-level member; no key repeats.
func readChatField(k string, v []byte, w *chatRequest) bool {
	switch k {
	case "model":
		return readString(v, &w.Model)
	case "user":
		return readString(v, &w.User)
	case "stream":
		return readBool(v, &w.Stream)
	case "messages":
		return readMessages(v, &w.Messages)
	case "max_tokens":
		return readIntPtr(v, &w.MaxTokens)
	case "max_completion_tokens":
		return readIntPtr(v, &w.MaxCompletionTokens)
	case "top_k":
		return readIntPtr(v, &w.TopK)
	case "n":
		return readIntPtr(v, &w.N)
	case "seed":
		if v[0] == 'n' {
			return true
		}
		var n int64
		if !setInt(v, &n) {
			return false
		}
		w.Seed = &n
		return true
	case "temperature":
		return readFloatPtr(v, &w.Temperature)
	case "top_p":
		return readFloatPtr(v, &w.TopP)
	case "presence_penalty":
		return readFloatPtr(v, &w.PresencePenalty)
	case "frequency_penalty":
		return readFloatPtr(v, &w.FrequencyPenalty)
	case "parallel_tool_calls":
		return readBoolPtr(v, &w.ParallelToolCalls)
	case "stream_options":
		return readStreamOptions(v, &w.StreamOptions)
	case "stop":
		return readStop(v, &w.Stop)
	case "tools":
		return readTools(v, &w.Tools)
	case "response_format":
		return readResponseFormat(v, &w.ResponseFormat)
	}
	// The rest are json.RawMessage, which encoding/json copies verbatim
	// (null included).
	raw := json.RawMessage(append([]byte(nil), v...))
	switch k {
	case "tool_choice":
		w.ToolChoice = raw
	case "logprobs":
		w.Logprobs = raw
	case "top_logprobs":
		w.TopLogprobs = raw
	case "logit_bias":
		w.LogitBias = raw
	case "service_tier":
		w.ServiceTier = raw
	case "reasoning_effort":
		w.ReasoningEffort = raw
	case "prediction":
		w.Prediction = raw
	case "audio":
		w.Audio = raw
	case "modalities":
		w.Modalities = raw
	case "store":
		w.Store = raw
	case "functions":
		w.Functions = raw
	case "function_call":
		w.FunctionCall = raw
	case "web_search_options":
		w.WebSearchOptions = raw
	case "prompt_cache_key":
		w.PromptCacheKey = raw
	case "safety_identifier":
		w.SafetyIdentifier = raw
	case "moderation":
		w.Moderation = raw
	default:
		return false
	}
	return true
}

// readMessages reads the messages array. Its length is counted first so
// that the slice is allocated once.
func readMessages(v []byte, dst *[]message) bool { return readArray(v, dst, readMessage) }

// The fields of a message, as bits of the seen mask.
const (
	msgRole = 1 << iota
	msgContent
	msgName
	msgToolCalls
	msgToolCallID
	msgRefusal
	msgReasoningContent
	msgReasoning
)

func readMessage(b []byte, m *message) bool {
	return readFields(b, func(key, v []byte) (bit int, ok bool) {
		switch string(key) {
		case "role":
			bit, ok = msgRole, readString(v, &m.Role)
		case "content":
			bit, ok = msgContent, readContent(v, &m.Content)
		case "name":
			bit, ok = msgName, readString(v, &m.Name)
		case "tool_calls":
			bit, ok = msgToolCalls, readToolCalls(v, &m.ToolCalls)
		case "tool_call_id":
			bit, ok = msgToolCallID, readString(v, &m.ToolCallID)
		case "refusal":
			bit, ok = msgRefusal, readStringPtr(v, &m.Refusal)
		case "reasoning_content":
			bit, ok = msgReasoningContent, readStringPtr(v, &m.ReasoningContent)
		case "reasoning":
			bit, ok = msgReasoning, readStringPtr(v, &m.Reasoning)
		default:
			return 0, true
		}
		return bit, ok
	})
}

// readContent reads a message's content as content.UnmarshalJSON does,
// parts of type text (and refusal) only.
func readContent(v []byte, c *content) bool {
	switch v[0] {
	case 'n':
		return true
	case '"':
		c.isString = true
		return readString(v, &c.str)
	}
	return readArray(v, &c.parts, readPart)
}

func readPart(b []byte, p *contentPart) bool {
	return readFields(b, func(key, v []byte) (bit int, ok bool) {
		switch string(key) {
		case "type":
			bit, ok = 1, readString(v, &p.Type)
		case "text":
			bit, ok = 2, readString(v, &p.Text)
		case "refusal":
			bit, ok = 4, readString(v, &p.Refusal)
		case "cache_control":
			bit, ok = 8, true
			p.CacheControl = append(json.RawMessage(nil), v...)
		case "image_url", "thinking":
			bit, ok = 16, v[0] == 'n'
		default:
			return 0, true
		}
		return bit, ok
	})
}

func readToolCalls(v []byte, dst *[]toolCall) bool { return readArray(v, dst, readToolCall) }

func readToolCall(b []byte, tc *toolCall) bool {
	return readFields(b, func(key, v []byte) (bit int, ok bool) {
		switch string(key) {
		case "index":
			bit, ok = 1, readIntPtr(v, &tc.Index)
		case "id":
			bit, ok = 2, readString(v, &tc.ID)
		case "type":
			bit, ok = 4, readString(v, &tc.Type)
		case "function":
			bit, ok = 8, readFunctionCall(v, &tc.Function)
		default:
			return 0, true
		}
		return bit, ok
	})
}

func readFunctionCall(b []byte, fc *functionCall) bool {
	switch b[0] {
	case 'n':
		return true
	case '{':
	default:
		return false
	}
	return readFields(b, func(key, v []byte) (bit int, ok bool) {
		switch string(key) {
		case "name":
			bit, ok = 1, readString(v, &fc.Name)
		case "arguments":
			bit, ok = 2, readString(v, &fc.Arguments)
		default:
			return 0, true
		}
		return bit, ok
	})
}

func readTools(v []byte, dst *[]tool) bool { return readArray(v, dst, readTool) }

func readTool(b []byte, t *tool) bool {
	return readFields(b, func(key, v []byte) (bit int, ok bool) {
		switch string(key) {
		case "type":
			bit, ok = 1, readString(v, &t.Type)
		case "function":
			bit, ok = 2, readToolFunction(v, &t.Function)
		case "custom":
			bit, ok = 4, readObjectString(v, "name", &t.Custom.Name)
		case "cache_control":
			bit, ok = 8, true
			t.CacheControl = append(json.RawMessage(nil), v...)
		default:
			return 0, true
		}
		return bit, ok
	})
}

func readToolFunction(b []byte, fn *toolFunction) bool {
	switch b[0] {
	case 'n':
		return true
	case '{':
	default:
		return false
	}
	return readFields(b, func(key, v []byte) (bit int, ok bool) {
		switch string(key) {
		case "name":
			bit, ok = 1, readString(v, &fn.Name)
		case "description":
			bit, ok = 2, readString(v, &fn.Description)
		case "parameters":
			bit, ok = 4, true
			fn.Parameters = append(json.RawMessage(nil), v...)
		case "strict":
			bit, ok = 8, readBoolPtr(v, &fn.Strict)
		default:
			return 0, true
		}
		return bit, ok
	})
}

func readResponseFormat(b []byte, dst **responseFormat) bool {
	switch b[0] {
	case 'n':
		return true
	case '{':
	default:
		return false
	}
	rf := new(responseFormat)
	*dst = rf
	return readFields(b, func(key, v []byte) (bit int, ok bool) {
		switch string(key) {
		case "type":
			bit, ok = 1, readString(v, &rf.Type)
		case "json_schema":
			bit, ok = 2, readJSONSchema(v, &rf.JSONSchema)
		default:
			return 0, true
		}
		return bit, ok
	})
}

func readJSONSchema(b []byte, dst **jsonSchema) bool {
	switch b[0] {
	case 'n':
		return true
	case '{':
	default:
		return false
	}
	js := new(jsonSchema)
	*dst = js
	return readFields(b, func(key, v []byte) (bit int, ok bool) {
		switch string(key) {
		case "name":
			bit, ok = 1, readString(v, &js.Name)
		case "schema":
			bit, ok = 2, true
			js.Schema = append(json.RawMessage(nil), v...)
		case "strict":
			bit, ok = 4, readBoolPtr(v, &js.Strict)
		default:
			return 0, true
		}
		return bit, ok
	})
}

// readObjectString reads the one string field name of an object (or
// null), ignoring its other members.
func readObjectString(b []byte, name string, dst *string) bool {
	switch b[0] {
	case 'n':
		return true
	case '{':
	default:
		return false
	}
	seen := false
	it := newObjIter(b, 0)
	for f, more := it.next(); more; f, more = it.next() {
		if !plainKey(f.key) {
			return false
		}
		if string(f.key) != name {
			continue
		}
		if seen || !readString(b[f.vs:f.ve], dst) {
			return false
		}
		seen = true
	}
	return it.err == nil
}

func readStreamOptions(v []byte, dst **streamOption) bool {
	switch v[0] {
	case 'n':
		return true
	case '{':
	default:
		return false
	}
	o := new(streamOption)
	it := newObjIter(v, 0)
	for f, more := it.next(); more; f, more = it.next() {
		if !plainKey(f.key) {
			return false
		}
		// include_usage is a bool: a repeated one ends as the last, as in
		// encoding/json.
		if string(f.key) == "include_usage" && !readBool(v[f.vs:f.ve], &o.IncludeUsage) {
			return false
		}
	}
	*dst = o
	return it.err == nil
}

// readStop reads stop as stop.UnmarshalJSON does, for a string or an
// array of strings.
func readStop(v []byte, dst *stop) bool {
	switch v[0] {
	case 'n':
		return true
	case '"':
		var s string
		if !readString(v, &s) {
			return false
		}
		*dst = stop{s}
		return true
	case '[':
	default:
		return false
	}
	n, ok := countElems(v)
	if !ok {
		return false
	}
	out := make(stop, n)
	i := 0
	ok = eachElem(v, func(e []byte) bool {
		if e[0] != '"' {
			return false
		}
		ok := readString(e, &out[i])
		i++
		return ok
	})
	*dst = out
	return ok && i == n
}

// readString reads a JSON string into *dst; null leaves it as it is, as
// encoding/json does. Escapes are decoded here (Python's json.dumps
// escapes every non-ASCII character by default); a string with invalid
// UTF-8, which encoding/json replaces with U+FFFD by its own rules, goes
// to encoding/json.
func readString(v []byte, dst *string) bool {
	switch v[0] {
	case 'n':
		return true
	case '"':
	default:
		return false
	}
	in := v[1 : len(v)-1]
	esc := -1
	for i, c := range in {
		if c == '\\' {
			esc = i
			break
		}
	}
	if esc < 0 {
		if !utf8.Valid(in) {
			return json.Unmarshal(v, dst) == nil
		}
		*dst = intern(in)
		return true
	}
	out := make([]byte, esc, len(in))
	copy(out, in[:esc])
	for i := esc; i < len(in); i++ {
		c := in[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch in[i] {
		case '"', '\\', '/':
			out = append(out, in[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default: // 'u', as encoding/json decodes it: a surrogate pair is
			// one rune, a lone surrogate is U+FFFD.
			r := hex4(in[i+1:])
			if r < 0 {
				return false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(in)-i > 6 && in[i+1] == '\\' && in[i+2] == 'u' {
					r2 = hex4(in[i+3:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		}
	}
	if !utf8.Valid(out) {
		return json.Unmarshal(v, dst) == nil
	}
	*dst = string(out)
	return true
}

// hex4 is the value of the four hex digits at the start of b, or -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

func readStringPtr(v []byte, dst **string) bool {
	if v[0] == 'n' {
		return true
	}
	s := new(string)
	if !readString(v, s) {
		return false
	}
	*dst = s
	return true
}

// readBool reads true or false; null leaves *dst as it is.
func readBool(v []byte, dst *bool) bool {
	switch string(v) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	case "null":
	default:
		return false
	}
	return true
}

// readBoolPtr reads true or false; null leaves *dst nil.
func readBoolPtr(v []byte, dst **bool) bool {
	if v[0] == 'n' {
		return true
	}
	x := new(bool)
	if !readBool(v, x) {
		return false
	}
	*dst = x
	return true
}

// readIntPtr reads a plain integer that fits an int; null leaves *dst
// nil.
func readIntPtr(v []byte, dst **int) bool {
	if v[0] == 'n' {
		return true
	}
	var n int64
	if !setInt(v, &n) || int64(int(n)) != n {
		return false
	}
	x := int(n)
	*dst = &x
	return true
}

// readFloatPtr reads a number as encoding/json does into a *float64
// (strconv.ParseFloat, 64 bits); null leaves *dst nil.
func readFloatPtr(v []byte, dst **float64) bool {
	switch c := v[0]; {
	case c == 'n':
		return true
	case c == '-' || c >= '0' && c <= '9':
	default:
		return false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return false
	}
	*dst = &f
	return true
}

// countElems counts the elements of the array v (valid JSON).
func countElems(v []byte) (int, bool) {
	n := 0
	ok := eachElem(v, func([]byte) bool { n++; return true })
	return n, ok
}

// eachElem calls f with each element of the array v (valid JSON), until
// f returns false.
func eachElem(v []byte, f func(e []byte) bool) bool {
	i := skipWS(v, 1)
	if i < len(v) && v[i] == ']' {
		return true
	}
	for i < len(v) {
		e := skipValue(v, i)
		if e < 0 {
			return false
		}
		if !f(v[skipWS(v, i):e]) {
			return false
		}
		i = skipWS(v, e)
		if i >= len(v) {
			return false
		}
		switch v[i] {
		case ',':
			i++
		case ']':
			return true
		default:
			return false
		}
	}
	return false
}

func trimWS(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

// intern is string(b), without an allocation for the role and type names
// every request repeats.
func intern(b []byte) string {
	switch string(b) {
	case "system":
		return "system"
	case "user":
		return "user"
	case "assistant":
		return "assistant"
	case "tool":
		return "tool"
	case "developer":
		return "developer"
	case "text":
		return "text"
	case "function":
		return "function"
	}
	return string(b)
}

// readArray reads a JSON array of objects, or null (nothing), into *dst,
// each element by read, as encoding/json fills a slice: false when the
// value or an element is of a type encoding/json would refuse (a null
// element, which it reads as the zero value, goes to encoding/json too).
func readArray[T any](v []byte, dst *[]T, read func([]byte, *T) bool) bool {
	switch v[0] {
	case 'n':
		return true
	case '[':
	default:
		return false
	}
	n, ok := countElems(v)
	if !ok {
		return false
	}
	out := make([]T, n)
	i := 0
	ok = eachElem(v, func(e []byte) bool {
		if e[0] != '{' {
			return false
		}
		ok := read(e, &out[i])
		i++
		return ok
	})
	*dst = out
	return ok && i == n
}

// readFields reads the object b member by member: field returns the bit
// of a known key with whether its value was read (bit 0: a key to skip).
// A key that is not plain, a value that does not read, or a known key
// given twice (encoding/json keeps the last; this reader leaves that to
// it) is false.
func readFields(b []byte, field func(key, v []byte) (bit int, ok bool)) bool {
	var seen int
	it := newObjIter(b, 0)
	for f, more := it.next(); more; f, more = it.next() {
		if !plainKey(f.key) {
			return false
		}
		bit, ok := field(f.key, b[f.vs:f.ve])
		if bit == 0 {
			continue
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	return it.err == nil
}
