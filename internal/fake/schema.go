package fake

import (
	"encoding/json"
	"strings"
)

// Structured output. A request that asks for an answer matching a JSON
// schema (OpenAI response_format json_schema and Responses text.format,
// Anthropic output_config.format, Gemini responseJsonSchema or
// responseSchema, Bedrock outputConfig.textFormat, Ollama format) is
// answered, as each API constrains it, with a JSON object valid for the
// schema instead of Reply's text: SchemaAnswer.

// SchemaAnswer is a JSON value valid for schema that carries the answer
// the convention would give as text: every string without an enum or a
// const is Reply(text) (or, after a tool result, "Tool said: <result>",
// as text is passed), numbers are 21, booleans true, arrays hold one
// item, and objects have every property (required or not, as OpenAI's
// strict mode requires them all). $ref to $defs or definitions, anyOf,
// oneOf and allOf (the first branch), const, enum and nullable types
// are followed. A schema it cannot read gives {}.
func SchemaAnswer(schema json.RawMessage, text string) string {
	var root map[string]any
	if json.Unmarshal(schema, &root) != nil {
		return "{}"
	}
	g := schemaGen{root: root, text: text}
	b, err := json.Marshal(g.value(root, 0))
	if err != nil {
		return "{}"
	}
	return string(b)
}

type schemaGen struct {
	root map[string]any
	text string
}

func (g *schemaGen) value(s map[string]any, depth int) any {
	if depth > 32 || s == nil {
		return nil
	}
	if ref, ok := s["$ref"].(string); ok {
		return g.value(g.resolve(ref), depth+1)
	}
	if c, ok := s["const"]; ok {
		return c
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if alts, ok := s[k].([]any); ok {
			for _, a := range alts {
				if m, ok := a.(map[string]any); ok && typeOf(m) != "null" {
					return g.value(m, depth+1)
				}
			}
		}
	}
	switch typeOf(s) {
	case "object", "":
		props, _ := s["properties"].(map[string]any)
		out := map[string]any{}
		for name, p := range props {
			m, _ := p.(map[string]any)
			out[name] = g.value(m, depth+1)
		}
		return out
	case "array":
		item, _ := s["items"].(map[string]any)
		n := 1
		if mn, ok := s["minItems"].(float64); ok && mn > 1 {
			n = int(mn)
		}
		out := make([]any, n)
		for i := range out {
			out[i] = g.value(item, depth+1)
		}
		return out
	case "string":
		return g.text
	case "integer", "number":
		v := 21.0
		if mn, ok := s["minimum"].(float64); ok && v < mn {
			v = mn
		}
		if mx, ok := s["maximum"].(float64); ok && v > mx {
			v = mx
		}
		return v
	case "boolean":
		return true
	}
	return nil
}

// typeOf is a schema's type, the first that is not "null" when it lists
// several (upper case, as Gemini's OpenAPI schemas spell them, is read
// too).
func typeOf(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return strings.ToLower(t)
	case []any:
		for _, v := range t {
			if v, ok := v.(string); ok && v != "null" {
				return strings.ToLower(v)
			}
		}
		return "null"
	}
	return ""
}

// resolve finds a local reference: #, #/$defs/x, #/definitions/x.
func (g *schemaGen) resolve(ref string) map[string]any {
	path, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	cur := g.root
	for part := range strings.SplitSeq(strings.TrimPrefix(path, "/"), "/") {
		if part == "" {
			continue
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		next, ok := cur[part].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

// cmpOr is the first schema given.
func cmpOr(a, b json.RawMessage) json.RawMessage {
	if len(a) > 0 && string(a) != "null" {
		return a
	}
	if len(b) > 0 && string(b) != "null" {
		return b
	}
	return nil
}
