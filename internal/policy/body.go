package policy

import (
	"net/http"
	"strings"
	"unsafe"

	"github.com/fulcrumhq/fulcrum/internal/jsonscan"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy/detect"
)

// Content kinds are what a request can carry that no detector can read:
// images, audio, files, token ids. Each counts as a data class of its own
// name, so a policy sets what happens to it like any class
// (classes: {image: allow}); by default it takes the policy's
// on_sensitive action, and since it cannot be redacted, redact means
// self_hosted_only for it.
const (
	KindImage  = "image"
	KindAudio  = "audio"
	KindFile   = "file"
	KindTokens = "tokens"
)

// Input is what one request brings to policy.
type Input struct {
	// Body is the JSON request body exactly as the client sent it; every
	// string and key in it is scanned.
	Body []byte
	// Declared are the classes the client declared (x-fulcrum-data-class).
	Declared []string
	// Policies name the policies that apply (the key's, the route's, the
	// target models'); the strictest wins class by class. None: the
	// default policy.
	Policies []string
	// Opaque are texts that reach the upstream in a form Fulcrum cannot
	// rewrite (embeddings token ids, decoded with the model's tokenizer).
	// They are scanned; a class found in them is never redacted, so a
	// redact rule keeps the request on self-hosted providers instead.
	Opaque []string
	// Kinds are content kinds the caller found outside Body's strings
	// (KindTokens for token ids it could not decode).
	Kinds []string
}

// EvaluateBody reads in.Body strictly (package jsonscan), scans every
// string and object key in it (after JSON unescaping, and once more after
// unescaping JSON nested in a string), applies the strictest of the named
// policies and the declared classes, and returns the decision. The bytes
// to forward are the decision's Body: in.Body itself, or, when the action
// is redact, in.Body with every redacted string re-encoded and nothing else
// changed. That rewritten body is scanned again before it is returned; if
// a redacted value survived in it, the decision becomes self_hosted_only.
//
// A body the strict reader refuses (invalid JSON or escapes, lone
// surrogates, keys differing only in case, excessive nesting) is a 400
// invalid_request_error; nothing is forwarded.
func (e *Engine) EvaluateBody(in Input) (*Decision, error) {
	ev := e.evaluatorFor(in.Policies)
	defer e.release(ev)
	scan := !e.disabled
	ev.seamLeft = seamBudget(len(in.Body))
	ev.scanOn = scan
	err := e.json.WalkAll(in.Body, ev.visitFn)
	if err != nil {
		return nil, bodyError(err)
	}
	if scan {
		for _, t := range in.Opaque {
			ev.opaque(t)
		}
	}
	for _, k := range in.Kinds {
		ev.kind(k)
	}
	d := ev.decide(in.Declared)
	d.body = in.Body
	if d.rep != nil {
		d.body = d.redactBody(e.json, in.Body)
		if !e.clean(d) {
			d.failRedaction()
		}
	}
	return d, nil
}

// visitBody is visit with the scan switch EvaluateBody set.
func (ev *evaluator) visitBody(s *jsonscan.String) { ev.visit(s, ev.scanOn) }

// visit looks at one string, key or number of a body: it counts the
// content kind it reveals, and scans it unless it is an opaque payload
// (a base64 data: URL). A short value holding digits is scanned behind its
// key ("phone: 4155552671"), so that the key serves as the context word a
// bare number needs.
func (ev *evaluator) visit(s *jsonscan.String, scan bool) {
	switch {
	case s.Key:
		// A schema's property names ("properties": {"image_url": ...} in
		// a tool's parameters) describe data, they carry none.
		if k := keyKind(s.Text); k != "" && !schemaNames(s.Parent) {
			ev.kind(k)
		}
	case s.Number:
	default:
		if mt, ok := dataURL(s.Text); ok {
			ev.kind(mediaKindOr(mt, KindFile))
			return
		}
		if k := valueKind(s.Member, s.Text); k != "" {
			ev.kind(k)
		}
	}
	if !scan {
		return
	}
	if !s.Key && !s.Number && prose(s.Member) {
		ev.seam(s.Text)
	}
	if !s.Key && s.Member != "" && (len(s.Text) <= 64 && hasDigit(s.Text) || len(s.Text) <= 4096 && detect.SecretName(s.Member)) {
		ev.kbuf = append(append(append(ev.kbuf[:0], s.Member...), ": "...), s.Text...)
		// A view, not a copy: scan keeps no text past its return (what
		// it records is cloned), and kbuf is not written until the next
		// value.
		ev.scan(unsafe.String(unsafe.SliceData(ev.kbuf), len(ev.kbuf)))
		return
	}
	ev.scan(s.Text)
}

// prose reports whether a string value under member is text a model
// reads in sequence with the texts before it: content parts, messages,
// prompt items, input items.
func prose(member string) bool {
	switch member {
	case "text", "content", "input", "prompt", "instructions", "system", "output", "arguments":
		return true
	}
	return false
}

func hasDigit(t string) bool {
	for k := 0; k < len(t); k++ {
		if isDigit(t[k]) {
			return true
		}
	}
	return false
}

// bodyError is the client's 400 for a body the strict reader refused.
func bodyError(err error) *llm.Error {
	return &llm.Error{
		Status:  http.StatusBadRequest,
		Type:    llm.ErrInvalidRequest,
		Message: "We could not parse the JSON body of your request: " + err.Error() + ". Fulcrum refuses ambiguous JSON (invalid escapes, lone surrogates, keys that differ only in letter case) rather than read it differently from the upstream.",
		Err:     err,
	}
}

// Body returns the request body to forward: the client's, or the redacted
// one. Only for decisions made by EvaluateBody.
func (d *Decision) Body() []byte { return d.body }

// redactBody re-encodes every string of body holding a value to redact.
func (d *Decision) redactBody(r jsonscan.Reader, body []byte) []byte {
	var edits []jsonscan.Edit
	_ = r.WalkAll(body, func(s *jsonscan.String) {
		if _, ok := dataURL(s.Text); ok && !s.Key {
			return
		}
		if r := d.redactText(s.Text, looksJSON(s.Text)); r != s.Text {
			edits = append(edits, jsonscan.Edit{Start: s.Start, End: s.End, Text: r})
		}
	})
	return jsonscan.Rewrite(body, edits)
}

// clean scans the redacted body as the original was scanned and reports
// whether it is valid and holds no value of a class the decision redacts.
func (e *Engine) clean(d *Decision) bool {
	ev := e.evaluatorFor(d.policies)
	defer e.release(ev)
	ok := true
	err := e.json.WalkAll(d.body, func(s *jsonscan.String) {
		if !ok {
			return
		}
		ev.visit(s, true)
		if len(ev.values) > 0 {
			ok = false
		}
	})
	return err == nil && ok
}

// failRedaction turns a redaction that could not be completed into
// self_hosted_only: the original body is forwarded, to self-hosted
// providers only.
func (d *Decision) failRedaction() {
	d.Action = ActionSelfHostedOnly
	d.subs, d.rep = nil, nil
}

// dataURL reports whether v is a base64 data: URL (RFC 2397) and returns
// its media type. Only a payload made entirely of base64 characters
// counts: "data: ann@example.com" is text and is scanned.
func dataURL(v string) (mediaType string, ok bool) {
	if !strings.HasPrefix(v, "data:") {
		return "", false
	}
	k := strings.Index(v[:min(len(v), 256)], ";base64,")
	if k < 0 {
		return "", false
	}
	mediaType = v[len("data:"):k]
	if strings.ContainsAny(mediaType, " \t\r\n\"") {
		return "", false
	}
	for i := k + len(";base64,"); i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return "", false
		}
	}
	return mediaType, true
}

func mediaKindOr(mt, or string) string {
	if k := mediaKind(mt); k != "" {
		return k
	}
	return or
}

// valueKind returns the content kind a string value reveals, or "": a
// media type, or a content part's type.
func valueKind(member, v string) string {
	switch {
	case member == "media_type" || member == "mime_type" || member == "mimeType":
		return mediaKind(v)
	case member == "type":
		switch v {
		case "image", "image_url", "input_image":
			return KindImage
		case "input_audio", "audio":
			return KindAudio
		case "file", "input_file":
			return KindFile
		}
	}
	return ""
}

// schemaNames reports whether the keys of an object under member are the
// names a JSON Schema defines rather than fields of a request.
func schemaNames(member string) bool {
	switch member {
	case "properties", "patternProperties", "$defs", "definitions":
		return true
	}
	return false
}

// keyKind returns the content kind an object key reveals, or "".
func keyKind(k string) string {
	switch k {
	case "image_url":
		return KindImage
	case "input_audio":
		return KindAudio
	case "file_data", "file_id", "file_url":
		return KindFile
	}
	return ""
}

// mediaKind maps a media type to a content kind; text is scanned, so it
// is no kind.
func mediaKind(mt string) string {
	switch {
	case strings.HasPrefix(mt, "image/"):
		return KindImage
	case strings.HasPrefix(mt, "audio/"):
		return KindAudio
	case strings.HasPrefix(mt, "text/"), mt == "", strings.HasPrefix(mt, "application/json"):
		return ""
	}
	return KindFile
}
