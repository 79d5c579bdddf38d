package e2e

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// jsonAt returns the value at a dotted path ("messages.1.content") of a
// JSON document, or nil.
func jsonAt(t *testing.T, body []byte, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("upstream body is not JSON: %v\n%s", err, body)
	}
	for _, k := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			v = c[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// TestTranslationKeepsMeaning: a request routed to a provider of the other
// wire format reaches it with what the field asked for, translated, in the
// body the fake upstream recorded. Before: a failed tool result
// (Anthropic is_error) reached OpenAI as a plain answer, strict tools lost
// strict, a message name vanished, service_tier "default" was refused by
// Claude and Anthropic's "standard_only" silently dropped, a JSON schema
// response format was refused by Claude, safety_identifier was refused by
// Claude.
func TestTranslationKeepsMeaning(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	g := startGateway(t, hwConfig(oa, an))

	schema := `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`
	cases := []struct {
		name, path, body string
		// want maps a dotted path in the upstream body to its JSON value.
		want map[string]string
	}{
		{"is_error to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"messages":[{"role":"user","content":"Read a.txt"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"read","input":{"path":"a.txt"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","is_error":true,"content":"ENOENT: no such file"}]}],"tools":[{"name":"read","input_schema":{"type":"object"}}]}`,
			map[string]string{"messages.2.role": `"tool"`, "messages.2.content": `"Error: ENOENT: no such file"`}},
		{"is_error already saying so to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"messages":[{"role":"user","content":"Run it"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"bash","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","is_error":true,"content":"Error: exit status 1"}]}],"tools":[{"name":"bash","input_schema":{"type":"object"}}]}`,
			map[string]string{"messages.2.content": `"Error: exit status 1"`}},
		{"is_error blocks to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"messages":[{"role":"user","content":"Read a.txt"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"read","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","is_error":true}]}],"tools":[{"name":"read","input_schema":{"type":"object"}}]}`,
			map[string]string{"messages.2.content": `"Error:"`}},
		{"tool_result blocks to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"messages":[{"role":"user","content":"Read a.txt"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"read","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"line one"},{"type":"text","text":"line two"}]},{"type":"text","text":"Summarise."}]}],"tools":[{"name":"read","input_schema":{"type":"object"}}]}`,
			map[string]string{"messages.2.content": `"line one\nline two"`, "messages.3.content": `"Summarise."`}},
		{"tool_result images to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"messages":[{"role":"user","content":"Compare the two screenshots."},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Read","input":{"file_path":"a.png"}},{"type":"tool_use","id":"toolu_2","name":"Read","input":{"file_path":"b.png"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},{"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"b.png"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgp="}}]}]}],"tools":[{"name":"Read","input_schema":{"type":"object"}}]}`,
			map[string]string{
				"messages.2.role": `"tool"`, "messages.2.tool_call_id": `"toolu_1"`, "messages.2.content": `"(1 image(s) returned; they follow in the next user message)"`,
				"messages.3.role": `"tool"`, "messages.3.content": `"b.png\n(1 image(s) returned; they follow in the next user message)"`,
				"messages.4.role": `"user"`, "messages.4.content.0.text": `"Images returned by tool call toolu_1:"`,
				"messages.4.content.1.image_url.url": `"data:image/png;base64,iVBORw0KGgo="`,
				"messages.4.content.2.text":          `"Images returned by tool call toolu_2:"`,
				"messages.4.content.3.image_url.url": `"data:image/png;base64,iVBORw0KGgp="`,
			}},
		{"strict to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":` + schema + `,"strict":true}}]}`,
			map[string]string{"tools.0.strict": `true`, "tools.0.input_schema.additionalProperties": `false`}},
		{"strict to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"messages":[{"role":"user","content":"Weather?"}],"tools":[{"name":"get_weather","input_schema":` + schema + `,"strict":true}]}`,
			map[string]string{"tools.0.function.strict": `true`}},
		{"name to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","name":"alice","content":"I vote yes."},{"role":"user","name":"bob","content":[{"type":"text","text":"I vote no."}]},{"role":"user","content":"Who voted yes?"}]}`,
			map[string]string{"messages.0.content": `"alice: I vote yes."`, "messages.1.content": `"bob: I vote no."`}},
		{"service_tier default to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"hi"}],"service_tier":"default"}`,
			map[string]string{"service_tier": `"standard_only"`}},
		{"service_tier auto to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"hi"}],"service_tier":"auto"}`,
			map[string]string{"service_tier": `null`, "messages.0.content": `"hi"`}},
		{"responses service_tier default to anthropic", "/v1/responses",
			`{"model":"x-anthropic","input":"hi","service_tier":"default"}`,
			map[string]string{"service_tier": `"standard_only"`}},
		{"service_tier standard_only to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"messages":[{"role":"user","content":"hi"}],"service_tier":"standard_only"}`,
			map[string]string{"service_tier": `"default"`}},
		{"json_schema to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"Where is the Louvre?"}],"response_format":{"type":"json_schema","json_schema":{"name":"place","strict":true,"schema":` + schema + `}}}`,
			map[string]string{"output_config.format.type": `"json_schema"`, "output_config.format.schema.required": `["city"]`}},
		{"responses text.format to anthropic", "/v1/responses",
			`{"model":"x-anthropic","input":"Where is the Louvre?","text":{"format":{"type":"json_schema","name":"place","strict":true,"schema":` + schema + `}}}`,
			map[string]string{"output_config.format.type": `"json_schema"`, "output_config.format.schema.required": `["city"]`}},
		{"output_config.format to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"messages":[{"role":"user","content":"Where is the Louvre?"}],"output_config":{"format":{"type":"json_schema","schema":` + schema + `}}}`,
			map[string]string{"response_format.type": `"json_schema"`, "response_format.json_schema.strict": `true`, "response_format.json_schema.schema.required": `["city"]`}},
		{"safety_identifier to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"hi"}],"safety_identifier":"user-7f3a"}`,
			map[string]string{"metadata.user_id": `"user-7f3a"`}},
		// A cache hint and the default verbosity change nothing in the
		// answer: Claude serves them (before: 400).
		{"prompt_cache_key and verbosity medium to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"hi"}],"prompt_cache_key":"session-42","verbosity":"medium"}`,
			map[string]string{"prompt_cache_key": `null`, "messages.0.content": `"hi"`}},
		// Another verbosity is a hint about length only GPT-5 reads: left
		// out when translated (before: 400, which refused Codex's
		// "low" wherever policy kept a request on a self-hosted model).
		{"verbosity low to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"hi"}],"verbosity":"low"}`,
			map[string]string{"verbosity": `null`, "messages.0.content": `"hi"`}},
		{"responses text.verbosity low to anthropic", "/v1/responses",
			`{"model":"x-anthropic","input":"hi","text":{"verbosity":"low"}}`,
			map[string]string{"verbosity": `null`, "text": `null`, "output_config": `null`}},
		{"top_logprobs 0 and text modality to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"hi"}],"logprobs":false,"top_logprobs":0,"modalities":["text"]}`,
			map[string]string{"messages.0.content": `"hi"`}},
		{"tool_choice without tools to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}`,
			map[string]string{"tool_choice": `null`, "parallel_tool_calls": `null`}},
		{"tool_choice none without tools to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"hi"}],"tool_choice":"none"}`,
			map[string]string{"tool_choice": `null`}},
		{"input_examples to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[{"name":"get_weather","description":"Current weather.","input_schema":{"type":"object","properties":{"city":{"type":"string"}}},"input_examples":[{"city":"Paris"},{"city": "Lyon"}]}]}`,
			map[string]string{"tools.0.function.description": `"Current weather.\n\nExample inputs:\n{\"city\":\"Paris\"}\n{\"city\":\"Lyon\"}"`}},
		{"foreign tool call ids to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"Weather?"},{"role":"assistant","tool_calls":[{"id":"functions.get_weather:0","type":"function","function":{"name":"get_weather","arguments":"{}"}},{"id":"functions.get_weather:1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"functions.get_weather:0","content":"18C"},{"role":"tool","tool_call_id":"functions.get_weather:1","content":"20C"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}`,
			map[string]string{
				"messages.1.content.0.id": `"functions_get_weather_0_` + fnv36("functions.get_weather:0") + `"`, "messages.2.content.0.tool_use_id": `"functions_get_weather_0_` + fnv36("functions.get_weather:0") + `"`,
				"messages.1.content.1.id": `"functions_get_weather_1_` + fnv36("functions.get_weather:1") + `"`, "messages.2.content.1.tool_use_id": `"functions_get_weather_1_` + fnv36("functions.get_weather:1") + `"`,
			}},
		{"cache_control in openai format to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"system","content":[{"type":"text","text":"Long policy text.","cache_control":{"type":"ephemeral"}}]},{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}},"cache_control":{"type":"ephemeral","ttl":"1h"}}]}`,
			map[string]string{"system.0.cache_control": `{"type":"ephemeral"}`, "tools.0.cache_control": `{"ttl":"1h","type":"ephemeral"}`}},
		{"blank assistant turn to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":""},{"role":"user","content":"Are you there?"}]}`,
			map[string]string{"messages.0.content": `"hi"`, "messages.1.content": `"Are you there?"`, "messages.2": `null`}},
		{"named assistant tool call to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"Weather?"},{"role":"assistant","name":"planner","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"18C"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}`,
			map[string]string{"messages.1.content.0.type": `"tool_use"`, "messages.1.content.1": `null`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			oa.Log.Reset()
			an.Log.Reset()
			status, out := hwPost(t, g, c.path, c.body)
			if status != 200 {
				t.Fatalf("%d %s", status, out)
			}
			sent := append(oa.Log.All(), an.Log.All()...)
			if len(sent) != 1 {
				t.Fatalf("%d upstream calls, want 1", len(sent))
			}
			for p, want := range c.want {
				got, _ := json.Marshal(jsonAt(t, sent[0].Body, p))
				if string(got) != want {
					t.Errorf("upstream %s = %s, want %s\nbody: %s", p, got, want, sent[0].Body)
				}
			}
		})
	}
}

// TestTranslationRefusesWhatItCannotKeep: what the other wire format
// cannot do is a 400 in the client's format naming the field, streamed or
// not, before any upstream call. Before, an Anthropic prefill reached
// OpenAI as a finished assistant turn (the model answered anew, and the
// client glued that answer to its prefill) and a Responses service_tier
// "flex" was dropped on the way to Claude, and an Anthropic
// inference_geo (where the model may run) was dropped on the way to OpenAI.
func TestTranslationRefusesWhatItCannotKeep(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	g := startGateway(t, hwConfig(oa, an))

	cases := []struct{ name, path, body, param string }{
		{"prefill to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"messages":[{"role":"user","content":"List three colours as JSON."},{"role":"assistant","content":"{\"colours\": ["}]STREAM}`,
			"messages[1]"},
		{"prefill blocks to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"system":"Be brief.","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"Name a colour."},{"role":"assistant","content":[{"type":"text","text":"The colour is"}]}]STREAM}`,
			"messages[3]"},
		{"chat service_tier flex to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"hi"}],"service_tier":"flex"STREAM}`,
			"service_tier"},
		{"responses service_tier priority to anthropic", "/v1/responses",
			`{"model":"x-anthropic","input":"hi","service_tier":"priority"STREAM}`,
			"service_tier"},
		{"messages bad service_tier", "/v1/messages",
			`{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"hi"}],"service_tier":"priority"STREAM}`,
			"service_tier"},
		{"max_tokens 0 (cache pre-warming) to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":0,"messages":[{"role":"user","content":"Long shared context"}]STREAM}`,
			"max_tokens"},
		{"inference_geo to openai", "/v1/messages",
			`{"model":"x-openai","max_tokens":256,"inference_geo":"us","messages":[{"role":"user","content":"hi"}]STREAM}`,
			"inference_geo"},
		{"json_object to anthropic", "/v1/chat/completions",
			`{"model":"x-anthropic","messages":[{"role":"user","content":"JSON please"}],"response_format":{"type":"json_object"}STREAM}`,
			"response_format"},
	}
	for _, c := range cases {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s stream=%v", c.name, stream), func(t *testing.T) {
				oa.Log.Reset()
				an.Log.Reset()
				s := ""
				if stream {
					s = `,"stream":true`
				}
				status, out := hwPost(t, g, c.path, strings.Replace(c.body, "STREAM", s, 1))
				if status != 400 {
					t.Fatalf("%d %s, want 400", status, out)
				}
				if n := len(oa.Log.All()) + len(an.Log.All()); n != 0 {
					t.Errorf("%d upstream calls, want none", n)
				}
				if c.path == "/v1/messages" {
					var e anthropicErr
					if json.Unmarshal(out, &e) != nil || e.Type != "error" || e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, c.param) {
						t.Errorf("%s, want an Anthropic invalid_request_error naming %q", out, c.param)
					}
					return
				}
				var e openaiErr
				if json.Unmarshal(out, &e) != nil || e.Error.Param == nil || *e.Error.Param != c.param || e.Error.Code == nil || *e.Error.Code != "unsupported_parameter" {
					t.Errorf("%s, want unsupported_parameter with param %q", out, c.param)
				}
			})
		}
	}

	// What Anthropic does itself reaches it unchanged: a prefill, and
	// max_tokens 0 with automatic caching (pre-warming the cache; before,
	// a 400 "must be at least 1" even on pass-through).
	for _, body := range []string{
		`{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello"}]}`,
		`{"model":"claude-sonnet-4-5","max_tokens":0,"cache_control":{"type":"ephemeral"},"inference_geo":"us","messages":[{"role":"user","content":"Long shared context"}]}`,
	} {
		an.Log.Reset()
		if status, out := hwPost(t, g, "/v1/messages", body); status != 200 {
			t.Errorf("%s: %d %s", body, status, out)
		} else if sent := an.Log.All(); len(sent) != 1 || string(sent[0].Body) != body {
			t.Errorf("%s: not forwarded unchanged: %q", body, sentBodies(sent))
		}
	}
}

// fnv36 is the suffix that tells apart tool call ids rewritten for
// Anthropic (FNV-1a 32, base 36).
func fnv36(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

// vllmStop plays vLLM's /v1/chat/completions for an answer ended by a stop
// string: finish_reason "stop" with stop_reason naming the string, whole
// or streamed (vLLM's ChatCompletionResponseChoice and its stream twin).
func vllmStop(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Stream bool `json:"stream"`
	}
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &req)
	const head = `{"id":"chatcmpl-v1","object":"chat.completion","created":1700000000,"model":"meta-llama/Llama-3.1-8B-Instruct",`
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, head+`"choices":[{"index":0,"message":{"role":"assistant","content":"1, 2, 3","tool_calls":[]},"logprobs":null,"finish_reason":"stop","stop_reason":"\n\nHuman:"}],"usage":{"prompt_tokens":20,"total_tokens":27,"completion_tokens":7}}`)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := strings.Replace(head, `"chat.completion"`, `"chat.completion.chunk"`, 1)
	for _, c := range []string{
		`"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
		`"choices":[{"index":0,"delta":{"content":"1, 2, 3"},"logprobs":null,"finish_reason":null}]}`,
		`"choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":"\n\nHuman:"}]}`,
		`"choices":[],"usage":{"prompt_tokens":20,"total_tokens":27,"completion_tokens":7}}`,
	} {
		io.WriteString(w, "data: "+chunk+c+"\n\n")
	}
	io.WriteString(w, "data: [DONE]\n\n")
}

// TestStopSequenceFromVLLM: an Anthropic client whose stop sequence ended
// an answer on a vLLM model is told so, as Claude tells it (stop_reason
// "stop_sequence" and which), whole and streamed. Before: "end_turn" and
// no stop_sequence.
func TestStopSequenceFromVLLM(t *testing.T) {
	vllm := httptest.NewServer(http.HandlerFunc(vllmStop))
	t.Cleanup(vllm.Close)
	g := startGateway(t, fmt.Sprintf(`
storage: { data_dir: DATA_DIR }
providers:
  - { name: vllm, type: openai, base_url: %q, hosting: self_hosted }
models:
  - { name: llama, provider: vllm, upstream: meta-llama/Llama-3.1-8B-Instruct }
`, vllm.URL+"/v1"))
	body := `{"model":"llama","max_tokens":64,"stop_sequences":["\n\nHuman:"],"messages":[{"role":"user","content":"Count to three."}]STREAM}`

	status, out := hwPost(t, g, "/v1/messages", strings.Replace(body, "STREAM", "", 1))
	var m struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	if status != 200 || json.Unmarshal(out, &m) != nil || m.StopReason != "stop_sequence" || m.StopSequence == nil || *m.StopSequence != "\n\nHuman:" {
		t.Errorf("whole: %d %s, want stop_reason stop_sequence with the sequence", status, out)
	}

	status, out = hwPost(t, g, "/v1/messages", strings.Replace(body, "STREAM", `,"stream":true`, 1))
	var delta string
	for _, line := range strings.Split(string(out), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(d, `"message_delta"`) {
			delta = d
		}
	}
	var md struct {
		Delta struct {
			StopReason   string  `json:"stop_reason"`
			StopSequence *string `json:"stop_sequence"`
		} `json:"delta"`
	}
	if status != 200 || json.Unmarshal([]byte(delta), &md) != nil || md.Delta.StopReason != "stop_sequence" || md.Delta.StopSequence == nil || *md.Delta.StopSequence != "\n\nHuman:" {
		t.Errorf("stream: %d message_delta %s, want stop_reason stop_sequence with the sequence\n%s", status, delta, out)
	}
}
