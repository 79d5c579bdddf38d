package openai

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/api/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// allowedToolsBody is a chat request declaring three function tools and a
// custom one, with the tool_choice given, as openai-node sends a
// ChatCompletionAllowedToolChoice.
func allowedToolsBody(choice string) string {
	return `{"model":"gpt-5","messages":[{"role":"user","content":"Weather and time in Paris?"}],"tools":[` +
		`{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},` +
		`{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},` +
		`{"type":"function","function":{"name":"send_email","parameters":{"type":"object","properties":{"to":{"type":"string"}}}}},` +
		`{"type":"custom","custom":{"name":"code_exec","description":"Executes python"}}],` +
		`"tool_choice":` + choice + `}`
}

// TestAllowedTools: tool_choice allowed_tools, which translated targets
// used to refuse, is honoured by translation: only the allowed function
// tools, with tool_choice auto or required. A custom tool that is not
// allowed no longer makes the request untranslatable; an allowed one does.
func TestAllowedTools(t *testing.T) {
	for _, tc := range []struct {
		name, choice string
		tools        []string
		mode         llm.ToolChoiceMode
		unsupported  []string
	}{
		{"required", `{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"get_time"}},{"type":"function","function":{"name":"get_weather"}}]}}`,
			[]string{"get_weather", "get_time"}, llm.ToolChoiceRequired, nil},
		{"auto", `{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"send_email"}}]}}`,
			[]string{"send_email"}, llm.ToolChoiceAuto, nil},
		{"custom allowed", `{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"get_time"}},{"type":"custom","custom":{"name":"code_exec"}}]}}`,
			[]string{"get_time"}, llm.ToolChoiceAuto, []string{"tools[3].type"}},
		{"auto, no function allowed", `{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}}`,
			[]string{"get_weather", "get_time", "send_email"}, llm.ToolChoiceNone, nil},
		{"required, no function allowed", `{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"custom","custom":{"name":"code_exec"}}]}}`,
			[]string{"get_weather", "get_time", "send_email"}, "", []string{"tools[3].type", "tool_choice.allowed_tools.tools"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodeChatRequest([]byte(allowedToolsBody(tc.choice)))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tool := range req.Tools {
				names = append(names, tool.Name)
			}
			var mode llm.ToolChoiceMode
			if req.ToolChoice != nil {
				mode = req.ToolChoice.Mode
			}
			if !slices.Equal(names, tc.tools) || mode != tc.mode || !slices.Equal(req.Unsupported, tc.unsupported) {
				t.Errorf("tools %v, choice %q, unsupported %q; want %v, %q, %q", names, mode, req.Unsupported, tc.tools, tc.mode, tc.unsupported)
			}
		})
	}
}

// TestAllowedToolsTranslated: what an Anthropic upstream and a translated
// OpenAI-format one (vLLM, or OpenAI after a policy redaction) are sent.
func TestAllowedToolsTranslated(t *testing.T) {
	req, err := DecodeChatRequest([]byte(allowedToolsBody(`{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"get_weather"}},{"type":"function","function":{"name":"get_time"}}]}}`)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := anthropic.EncodeMessagesRequest(req)
	if err != nil {
		t.Fatalf("anthropic: %v", err)
	}
	var a struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
		ToolChoice json.RawMessage `json:"tool_choice"`
	}
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Tools) != 2 || a.Tools[0].Name != "get_weather" || a.Tools[1].Name != "get_time" || string(a.ToolChoice) != `{"type":"any"}` {
		t.Errorf("anthropic body: %s", out)
	}
	out, err = EncodeChatRequest(req)
	if err != nil {
		t.Fatalf("openai: %v", err)
	}
	var o struct {
		Tools []struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tools"`
		ToolChoice json.RawMessage `json:"tool_choice"`
	}
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range o.Tools {
		names = append(names, tool.Function.Name)
	}
	if diff := cmp.Diff([]string{"get_weather", "get_time"}, names); diff != "" || string(o.ToolChoice) != `"required"` {
		t.Errorf("openai body: %s (tools -want +got %s)", out, diff)
	}
}

// TestAllowedToolsErrors: a malformed allowed_tools is a 400 naming the
// field at fault, in OpenAI's shape.
func TestAllowedToolsErrors(t *testing.T) {
	for _, tc := range []struct{ choice, param, code string }{
		{`{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"get_stock_price"}}]}}`,
			"tool_choice.allowed_tools.tools[0].function.name", "invalid_value"},
		{`{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"custom","custom":{"name":"get_time"}}]}}`,
			"tool_choice.allowed_tools.tools[0].custom.name", "invalid_value"},
		{`{"type":"allowed_tools","allowed_tools":{"mode":"any","tools":[]}}`, "tool_choice.allowed_tools.mode", "invalid_value"},
		{`{"type":"allowed_tools","allowed_tools":{"tools":[]}}`, "tool_choice.allowed_tools.mode", "missing_required_parameter"},
		{`{"type":"allowed_tools","allowed_tools":{"mode":"auto"}}`, "tool_choice.allowed_tools.tools", "missing_required_parameter"},
		{`{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":{"type":"function"}}}`, "tool_choice.allowed_tools.tools", ""},
		{`{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"mcp"}]}}`, "tool_choice.allowed_tools.tools[0].type", "invalid_value"},
		{`{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{}}]}}`,
			"tool_choice.allowed_tools.tools[0].function.name", "missing_required_parameter"},
		{`{"type":"allowed_tools"}`, "tool_choice.allowed_tools", "missing_required_parameter"},
	} {
		_, err := DecodeChatRequest([]byte(allowedToolsBody(tc.choice)))
		if err == nil {
			t.Errorf("%s: no error, want a 400 naming %q", tc.choice, tc.param)
			continue
		}
		if e := llm.AsError(err); e.Status != 400 || e.Param != tc.param || e.Code != tc.code || !strings.Contains(e.Message, "'") {
			t.Errorf("%s: %v (param %q, code %q), want a 400 naming %q with code %q", tc.choice, err, e.Param, e.Code, tc.param, tc.code)
		}
	}
}
