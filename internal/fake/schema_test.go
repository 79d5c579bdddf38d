package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSchemaAnswer: the answer to a structured-output request is valid
// for the schema: every property, enums and consts, references, nullable
// types and the first branch of a union followed; strings carry the
// convention's answer.
func TestSchemaAnswer(t *testing.T) {
	// The shape zod-to-json-schema gives the OpenAI Agents SDK's
	// outputType, with a definition referenced, a union and a nullable.
	schema := `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false,
"properties":{"answer":{"type":"string"},"confidence":{"type":"number","minimum":50},"tags":{"type":"array","items":{"type":"string"},"minItems":2},
"kind":{"type":"string","enum":["weather","other"]},"v":{"const":2},"place":{"$ref":"#/definitions/Place"},
"maybe":{"type":["null","boolean"]},"either":{"anyOf":[{"type":"null"},{"type":"integer"}]}},
"required":["answer","confidence","tags","kind","v","place","maybe","either"],
"definitions":{"Place":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}`
	var got map[string]any
	if err := json.Unmarshal([]byte(SchemaAnswer(json.RawMessage(schema), "Hello! You said: hi")), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"answer": "Hello! You said: hi", "confidence": 50.0, "tags": []any{"Hello! You said: hi", "Hello! You said: hi"},
		"kind": "weather", "v": 2.0, "place": map[string]any{"city": "Hello! You said: hi"}, "maybe": true, "either": 21.0,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("answer (-want +got):\n%s", d)
	}
	if got := SchemaAnswer(json.RawMessage(`nope`), "x"); got != "{}" {
		t.Errorf("unreadable schema: %s", got)
	}
	// Gemini's OpenAPI subset spells types in capitals.
	if got := SchemaAnswer(json.RawMessage(`{"type":"OBJECT","properties":{"n":{"type":"INTEGER"}}}`), "x"); got != `{"n":21}` {
		t.Errorf("OpenAPI schema: %s", got)
	}
}

// TestStructuredOutputAnswers: each fake answers a request for a JSON
// schema, in the field its API takes it in, with an object valid for it,
// streamed or not; without one, the usual text.
func TestStructuredOutputAnswers(t *testing.T) {
	oa, an, ge, ol := NewOpenAI(), NewAnthropic(), NewGemini(), NewOllama()
	defer oa.Close()
	defer an.Close()
	defer ge.Close()
	defer ol.Close()
	const schema = `{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"],"additionalProperties":false}`
	const want = `{"answer":"Hello! You said: hi"}`
	for _, tc := range []struct {
		name, url, body string
		header          map[string]string
	}{
		{"openai chat", oa.URL + "/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"o","strict":true,"schema":` + schema + `}}}`,
			map[string]string{"Authorization": "Bearer " + APIKey}},
		{"openai chat streamed", oa.URL + "/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"o","strict":true,"schema":` + schema + `}}}`,
			map[string]string{"Authorization": "Bearer " + APIKey}},
		{"openai responses", oa.URL + "/responses", `{"model":"gpt-5","input":"hi","text":{"format":{"type":"json_schema","name":"o","strict":true,"schema":` + schema + `}}}`,
			map[string]string{"Authorization": "Bearer " + APIKey}},
		{"anthropic", an.URL + "/messages", `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}],"output_config":{"format":{"type":"json_schema","schema":` + schema + `}}}`,
			map[string]string{"x-api-key": APIKey, "anthropic-version": "2023-06-01"}},
		{"gemini", ge.URL + "/models/m:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"responseMimeType":"application/json","responseJsonSchema":` + schema + `}}`,
			map[string]string{"x-goog-api-key": APIKey}},
		{"ollama", ol.URL + "/api/chat", `{"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}],"format":` + schema + `}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", tc.url, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// The answer's text, escaped as a JSON string in the body (and
			// in pieces in a stream: the pieces are joined).
			text := string(b)
			if strings.Contains(tc.name, "streamed") {
				text = ""
				for line := range strings.Lines(string(b)) {
					var ch struct {
						Choices []struct{ Delta struct{ Content string } }
					}
					if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok && json.Unmarshal([]byte(d), &ch) == nil && len(ch.Choices) > 0 {
						text += ch.Choices[0].Delta.Content
					}
				}
				if resp.StatusCode != 200 || text != want {
					t.Fatalf("%d: text %q, want %s", resp.StatusCode, text, want)
				}
				return
			}
			esc, _ := json.Marshal(want)
			if resp.StatusCode != 200 || !strings.Contains(text, string(esc[1:len(esc)-1])) {
				t.Fatalf("%d %s, want the answer %s", resp.StatusCode, b, want)
			}
		})
	}
}
