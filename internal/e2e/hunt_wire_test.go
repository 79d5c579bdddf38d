package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// hwConfig serves each wire format from a same-format upstream (pass-through)
// and a different-format one (translation). The providers are self-hosted
// so that the default policy lets audio, files and images reach them: what
// is under test is the wire, not the policy.
func hwConfig(oa *fake.OpenAI, an *fake.Anthropic) string {
	return fmt.Sprintf(`
storage: { data_dir: DATA_DIR }
providers:
  - { name: hw-openai, type: openai, base_url: %q, api_key: %q, hosting: self_hosted, responses: true }
  - { name: hw-anthropic, type: anthropic, base_url: %q, api_key: %q, hosting: self_hosted }
models:
  - { name: gpt-5, provider: hw-openai }
  - { name: claude-sonnet-4-5, provider: hw-anthropic }
  - { name: x-openai, provider: hw-openai, upstream: gpt-5 }
  - { name: x-anthropic, provider: hw-anthropic, upstream: claude-sonnet-4-5 }
`, oa.URL, fake.APIKey, an.URL, fake.APIKey)
}

func hwPost(t *testing.T, g *gateway, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t), "POST", g.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestUpstreamOnlyFieldsPassThrough: valid fields of a provider's API that
// the canonical request cannot carry (OpenAI audio and file parts, custom
// tools (allowed by allowed_tools too) as Codex and GPT-5 clients send them, Responses
// custom_tool_call and local_shell items, Anthropic search_result blocks
// and Files API images) reach a same-format upstream byte for byte, and a
// translated target refuses them with a 400 in the client's format naming
// the field, before any upstream call. Before, the decoder refused them
// for every target, pass-through included (or, for search_result, called
// a valid array "expected string or array of content blocks").
func TestUpstreamOnlyFieldsPassThrough(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	g := startGateway(t, hwConfig(oa, an))

	cases := []struct {
		name, path, same, other, body, param string
	}{
		{"chat input_audio", "/v1/chat/completions", "gpt-5", "x-anthropic",
			`{"model":"MODEL","messages":[{"role":"user","content":[{"type":"text","text":"What is in this recording?"},{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]}`,
			"messages[0].content[1].type"},
		{"chat file", "/v1/chat/completions", "gpt-5", "x-anthropic",
			`{"model":"MODEL","messages":[{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQK"}},{"type":"text","text":"Summarise"}]}]}`,
			"messages[0].content[0].type"},
		{"chat custom tool", "/v1/chat/completions", "gpt-5", "x-anthropic",
			`{"model":"MODEL","messages":[{"role":"user","content":"Run it [[plain]]"}],"tools":[{"type":"custom","custom":{"name":"code_exec","description":"Executes python","format":{"type":"grammar","grammar":{"syntax":"lark","definition":"start: /.+/"}}}}]}`,
			"tools[0].type"},
		{"chat allowed custom tool", "/v1/chat/completions", "gpt-5", "x-anthropic",
			`{"model":"MODEL","messages":[{"role":"user","content":"Run it [[plain]]"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},{"type":"custom","custom":{"name":"code_exec","description":"Executes python"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"custom","custom":{"name":"code_exec"}}]}}}`,
			"tools[1].type"},
		{"responses codex apply_patch", "/v1/responses", "gpt-5", "x-anthropic",
			`{"model":"MODEL","instructions":"You are Codex.","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Fix it [[plain]]"}]}],"tools":[{"type":"custom","name":"apply_patch","description":"Edit files.","format":{"type":"grammar","syntax":"lark","definition":"start: begin_patch hunk+ end_patch"}}],"tool_choice":"auto","parallel_tool_calls":false,"store":false,"include":["reasoning.encrypted_content"]}`,
			"tools[0].type"},
		{"responses custom_tool_call history", "/v1/responses", "gpt-5", "x-anthropic",
			`{"model":"MODEL","input":[{"role":"user","content":"Fix it"},{"type":"custom_tool_call","call_id":"call_1","name":"apply_patch","input":"*** Begin Patch\n*** End Patch\n"},{"type":"custom_tool_call_output","call_id":"call_1","output":"Done!"},{"role":"user","content":"Thanks [[plain]]"}],"store":false}`,
			"input[1].type"},
		{"responses input_file", "/v1/responses", "gpt-5", "x-anthropic",
			`{"model":"MODEL","input":[{"role":"user","content":[{"type":"input_file","filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQK"},{"type":"input_text","text":"Summarise"}]}]}`,
			"input[0].content[0].type"},
		{"messages search_result", "/v1/messages", "claude-sonnet-4-5", "x-openai",
			`{"model":"MODEL","max_tokens":256,"messages":[{"role":"user","content":[{"type":"search_result","source":"https://docs.example.com/auth","title":"Authentication","content":[{"type":"text","text":"Send the key in x-api-key."}],"citations":{"enabled":true}},{"type":"text","text":"How do I authenticate?"}]}]}`,
			"search_result"},
		{"messages image file source", "/v1/messages", "claude-sonnet-4-5", "x-openai",
			`{"model":"MODEL","max_tokens":256,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_011CNha8iCJcU1wXNR6q4V8w"}},{"type":"text","text":"Describe it"}]}]}`,
			"messages[0].content[0].source.type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			oa.Log.Reset()
			an.Log.Reset()
			body := strings.Replace(c.body, "MODEL", c.same, 1)
			status, out := hwPost(t, g, c.path, body)
			if status != 200 {
				t.Fatalf("pass-through: %d %s", status, out)
			}
			sent := append(oa.Log.All(), an.Log.All()...)
			if len(sent) != 1 || !bytes.Equal(sent[0].Body, []byte(body)) {
				t.Fatalf("pass-through did not forward the body unchanged:\nsent %q\ngot  %q", body, sentBodies(sent))
			}

			oa.Log.Reset()
			an.Log.Reset()
			status, out = hwPost(t, g, c.path, strings.Replace(c.body, "MODEL", c.other, 1))
			if status != 400 {
				t.Fatalf("translated: %d %s, want 400", status, out)
			}
			if n := len(oa.Log.All()) + len(an.Log.All()); n != 0 {
				t.Errorf("translated: %d upstream calls, want none", n)
			}
			if c.path == "/v1/messages" {
				var e anthropicErr
				if json.Unmarshal(out, &e) != nil || e.Type != "error" || e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, `"`+c.param+`"`) {
					t.Errorf("translated: %s, want an Anthropic invalid_request_error naming %q", out, c.param)
				}
				return
			}
			var e openaiErr
			if json.Unmarshal(out, &e) != nil || e.Error.Param == nil || *e.Error.Param != c.param || e.Error.Code == nil || *e.Error.Code != "unsupported_parameter" {
				t.Errorf("translated: %s, want unsupported_parameter with param %q", out, c.param)
			}
		})
	}
}

func sentBodies(rs []fake.Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Body))
	}
	return out
}

// TestResponsesTypeErrors: a Responses request with a field of the wrong
// JSON type gets OpenAI's invalid_type error naming the field, not Go's
// "cannot unmarshal number into Go struct field wireRequest.model".
func TestResponsesTypeErrors(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	g := startGateway(t, hwConfig(oa, an))
	for body, param := range map[string]string{
		`{"model":5,"input":"hi"}`:                                "model",
		`{"model":"gpt-5","input":"hi","max_output_tokens":"64"}`: "max_output_tokens",
		`{"model":"gpt-5","input":"hi","stream":"yes"}`:           "stream",
	} {
		status, out := hwPost(t, g, "/v1/responses", body)
		var e openaiErr
		if status != 400 || json.Unmarshal(out, &e) != nil || e.Error.Param == nil || *e.Error.Param != param ||
			e.Error.Code == nil || *e.Error.Code != "invalid_type" || strings.Contains(e.Error.Message, "Go ") {
			t.Errorf("%s: %d %s, want 400 invalid_type naming %q", body, status, out, param)
		}
	}
}

// TestCacheKeepsApartWhatItCannotKey: a cached model must not answer a
// request from the entry of one that differed only in content the
// canonical request does not carry (an Anthropic document, OpenAI audio).
// Before, the second document's question was answered, as a cache hit,
// with the answer about the first.
func TestCacheKeepsApartWhatItCannotKey(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	cfg := strings.NewReplacer(
		"{ name: gpt-5, provider: hw-openai }", "{ name: gpt-5, provider: hw-openai, cache: { ttl: 10m } }",
		"{ name: claude-sonnet-4-5, provider: hw-anthropic }", "{ name: claude-sonnet-4-5, provider: hw-anthropic, cache: { ttl: 10m } }",
	).Replace(hwConfig(oa, an))
	g := startGateway(t, cfg)
	for _, c := range []struct{ path, body string }{
		{"/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"DOC"}},{"type":"text","text":"Summarise the document"}]}]}`},
		{"/v1/chat/completions", `{"model":"gpt-5","messages":[{"role":"user","content":[{"type":"text","text":"Transcribe"},{"type":"input_audio","input_audio":{"data":"DOC","format":"wav"}}]}]}`},
	} {
		oa.Log.Reset()
		an.Log.Reset()
		for _, doc := range []string{"The sky is green.", "VGhlIHNlYQ=="} {
			if status, out := hwPost(t, g, c.path, strings.Replace(c.body, "DOC", doc, 1)); status != 200 {
				t.Fatalf("%s: %d %s", c.path, status, out)
			}
		}
		if n := len(oa.Log.All()) + len(an.Log.All()); n != 2 {
			t.Errorf("%s: two requests with different content reached the upstream %d time(s), want 2", c.path, n)
		}
	}
}

// TestModelErrorsInClientFormat: GET /v1/models/{id} of a model that does
// not exist answers an Anthropic client (anthropic-version set, as every
// Anthropic SDK sends) with Anthropic's error object, and an OpenAI client
// with OpenAI's. Before, both got OpenAI's.
func TestModelErrorsInClientFormat(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	g := startGateway(t, hwConfig(oa, an))
	get := func(hdr string) (int, []byte) {
		req, _ := http.NewRequestWithContext(ctxT(t), "GET", g.URL+"/v1/models/no-such-model", nil)
		if hdr != "" {
			req.Header.Set("anthropic-version", hdr)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, out := get("2023-06-01")
	var ae anthropicErr
	if status != 404 || json.Unmarshal(out, &ae) != nil || ae.Type != "error" || ae.Error.Type != "not_found_error" {
		t.Errorf("Anthropic client: %d %s, want 404 not_found_error", status, out)
	}
	status, out = get("")
	var oe openaiErr
	if status != 404 || json.Unmarshal(out, &oe) != nil || oe.Error.Code == nil || *oe.Error.Code != "model_not_found" {
		t.Errorf("OpenAI client: %d %s, want 404 model_not_found", status, out)
	}
}

// TestUpstreamErrorFieldsKept: an OpenAI client whose request an OpenAI
// upstream refuses (plain or streamed) sees the upstream's param and code.
// Before, both were null, and clients that act on a code (Codex on
// context_length_exceeded) could not.
func TestUpstreamErrorFieldsKept(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	g := startGateway(t, hwConfig(oa, an))
	for _, body := range []string{
		`{"model":"gpt-5","messages":[{"role":"user","content":"x [[400]]"}]}`,
		`{"model":"gpt-5","stream":true,"messages":[{"role":"user","content":"x [[400]]"}]}`,
	} {
		status, out := hwPost(t, g, "/v1/chat/completions", body)
		var e openaiErr
		if status != 400 || json.Unmarshal(out, &e) != nil || e.Error.Param == nil || *e.Error.Param != "temperature" ||
			e.Error.Code == nil || *e.Error.Code != "invalid_value" {
			t.Errorf("%s: %d %s, want param temperature, code invalid_value", body, status, out)
		}
	}
}

// TestChatMetadataTagsAnyTarget: OpenAI metadata, which Fulcrum documents
// as cost-attribution tags "from any OpenAI SDK", works whatever provider
// serves the model: honoured as tags, not sent to an upstream that would
// read it otherwise. Before, every non-OpenAI target refused it with 400
// unsupported_parameter.
func TestChatMetadataTagsAnyTarget(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	g := startGateway(t, hwConfig(oa, an))
	status, out := hwPost(t, g, "/v1/chat/completions", `{"model":"x-anthropic","metadata":{"team":"search"},"messages":[{"role":"user","content":"hi"}]}`)
	if status != 200 {
		t.Fatalf("%d %s", status, out)
	}
	sent := an.Log.All()
	if len(sent) != 1 || strings.Contains(string(sent[0].Body), "search") {
		t.Errorf("Anthropic received %q", sentBodies(sent))
	}
}

// TestAnthropicEmptyContentRefused: a user turn with an empty content
// array is refused in Anthropic's words before any upstream call. Before,
// the translated path dropped the turn and sent an OpenAI upstream a
// request without messages, whose complaint ("Missing required parameter:
// 'messages'") the Anthropic client then saw.
func TestAnthropicEmptyContentRefused(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	g := startGateway(t, hwConfig(oa, an))
	for _, model := range []string{"x-openai", "claude-sonnet-4-5"} {
		status, out := hwPost(t, g, "/v1/messages", `{"model":"`+model+`","max_tokens":64,"messages":[{"role":"user","content":[]}]}`)
		var e anthropicErr
		if status != 400 || json.Unmarshal(out, &e) != nil || e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, "messages[0]") {
			t.Errorf("%s: %d %s, want 400 naming messages[0]", model, status, out)
		}
	}
	if n := len(oa.Log.All()) + len(an.Log.All()); n != 0 {
		t.Errorf("%d upstream calls, want none", n)
	}
}

// TestChatEmptyContentRefused: an OpenAI user turn with an empty content
// array gets OpenAI's empty_array error before any upstream call. Before,
// a translated target received "content": [] and answered in its own
// words, or (the fake) answered as if the turn said nothing.
func TestChatEmptyContentRefused(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	g := startGateway(t, hwConfig(oa, an))
	status, out := hwPost(t, g, "/v1/chat/completions", `{"model":"x-anthropic","messages":[{"role":"user","content":[]}]}`)
	var e openaiErr
	if status != 400 || json.Unmarshal(out, &e) != nil || e.Error.Param == nil || *e.Error.Param != "messages[0].content" ||
		e.Error.Code == nil || *e.Error.Code != "empty_array" {
		t.Errorf("%d %s, want 400 empty_array on messages[0].content", status, out)
	}
	if n := len(oa.Log.All()) + len(an.Log.All()); n != 0 {
		t.Errorf("%d upstream calls, want none", n)
	}
}

// TestCountTokensSeesDocuments: count_tokens counts what the canonical
// request does not carry (a text document here) instead of leaving it
// out. Before, a 2,000-word document was counted as 1 token.
func TestCountTokensSeesDocuments(t *testing.T) {
	oa, an := fake.NewOpenAI(), fake.NewAnthropic()
	t.Cleanup(func() { oa.Close(); an.Close() })
	g := startGateway(t, hwConfig(oa, an))
	doc := strings.Repeat("word ", 2000)
	status, out := hwPost(t, g, "/v1/messages/count_tokens", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"`+doc+`"}},{"type":"text","text":"Summarise"}]}]}`)
	var c struct {
		InputTokens int `json:"input_tokens"`
	}
	if status != 200 || json.Unmarshal(out, &c) != nil || c.InputTokens < 1500 {
		t.Errorf("%d %s, want at least 1500 input tokens for a 2,000-word document", status, out)
	}
}
