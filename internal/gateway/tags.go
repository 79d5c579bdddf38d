package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Cost attribution (docs/metering.md#tags). A request is tagged by the
// x-fulcrum-tags header ("team=search,feature=summaries") and, on the
// OpenAI formats, by its "metadata" object (OpenAI's own request
// metadata: string values, at most 16 pairs). Both are merged (the header
// wins on a key both name), bounded and validated before anything is
// routed, and stored on every usage record of the request; usage is then
// grouped by tag (`fulcrum usage --group-by tag:team`, the admin API).
//
// Tags are the client's words: they are never metric labels (a client
// could mint unbounded series). The metadata object is part of the body
// and so is scanned by policy like any other field; the header is not.

// Bounds on tags.
const (
	maxTags        = 16
	maxTagValue    = 256
	maxEndUserLen  = 512
	tagsHeader     = "X-Fulcrum-Tags"
	tagsHeaderName = "x-fulcrum-tags"
)

// requestTags reads and validates the request's tags; nil when it has
// none. The error is the client's 400, naming the header or field.
func requestTags(h http.Header, format *wireFormat, body []byte) (map[string]string, error) {
	var tags map[string]string
	if format != fmtAnthropic && bytes.Contains(body, []byte(`"metadata"`)) {
		var b struct {
			Metadata json.RawMessage `json:"metadata"`
		}
		// The body was read strictly already (scanBody); this only
		// picks the one field.
		if err := json.Unmarshal(body, &b); err == nil && len(b.Metadata) > 0 && string(b.Metadata) != "null" {
			var md map[string]any
			if err := json.Unmarshal(b.Metadata, &md); err != nil {
				return nil, tagError("metadata", "metadata must be an object of string values")
			}
			tags = make(map[string]string, len(md))
			for k, v := range md {
				s, ok := v.(string)
				if !ok {
					return nil, tagError("metadata", fmt.Sprintf("metadata.%s must be a string", safeName(k)))
				}
				if err := checkTag("metadata", k, s); err != nil {
					return nil, err
				}
				tags[k] = s
			}
		}
	}
	for _, line := range h.Values(tagsHeader) {
		for _, pair := range strings.Split(line, ",") {
			pair = strings.TrimSpace(pair)
			if pair == "" {
				continue
			}
			k, v, ok := strings.Cut(pair, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok {
				return nil, tagError(tagsHeaderName, fmt.Sprintf("x-fulcrum-tags: %q is not key=value (e.g. x-fulcrum-tags: team=search,feature=summaries)", safeName(pair)))
			}
			if err := checkTag(tagsHeaderName, k, v); err != nil {
				return nil, err
			}
			if tags == nil {
				tags = map[string]string{}
			}
			tags[k] = v
		}
	}
	if len(tags) > maxTags {
		return nil, tagError(tagsHeaderName, fmt.Sprintf("the request carries %d tags (x-fulcrum-tags and metadata together); at most %d are accepted", len(tags), maxTags))
	}
	return tags, nil
}

// checkTag validates one tag: a key of 1-64 letters, digits, '_', '-',
// '.', and a value of at most 256 bytes of printable UTF-8.
func checkTag(param, k, v string) error {
	if !store.ValidTagKey(k) {
		return tagError(param, fmt.Sprintf("tag name %q must be 1 to %d letters, digits, '_', '-' or '.'", safeName(k), store.MaxTagKey))
	}
	if len(v) > maxTagValue {
		return tagError(param, fmt.Sprintf("tag %s: value is %d bytes; at most %d are accepted", k, len(v), maxTagValue))
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return tagError(param, fmt.Sprintf("tag %s: value must be printable text", k))
	}
	return nil
}

// checkEndUser bounds the end-user id (OpenAI user, Anthropic
// metadata.user_id), which usage records keep.
func checkEndUser(u string) error {
	if len(u) > maxEndUserLen {
		return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Param: "user",
			Message: fmt.Sprintf("user is %d bytes; at most %d are accepted", len(u), maxEndUserLen)}
	}
	return nil
}

// maxModelName bounds the model a request names, which the access log,
// the request record and a 404's message carry: a 5 MB name was logged,
// stored and echoed whole on every request. The longest real ids (Bedrock
// inference-profile ARNs, Vertex resource names) are under 200 bytes.
const maxModelName = 256

// checkModel bounds the model name, in OpenAI's words for a string over
// its maximum length.
func checkModel(m string) error {
	if len(m) > maxModelName {
		return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Param: "model", Code: "string_above_max_length",
			Message: fmt.Sprintf("Invalid 'model': string too long. Expected a string with maximum length %d, but got a string with length %d instead.", maxModelName, len(m))}
	}
	return nil
}

func tagError(param, msg string) *llm.Error {
	return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "invalid_tags", Param: param, Message: msg}
}

// safeName shortens what a client sent for an error message.
func safeName(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
