package responses

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/api/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// codexTools are tools as Codex declares them: functions (one strict), a
// custom apply_patch, local_shell and a hosted web_search.
const codexTools = `"tools":[` +
	`{"type":"function","name":"shell","strict":false,"parameters":{"type":"object","properties":{"command":{"type":"array","items":{"type":"string"}}}}},` +
	`{"type":"function","name":"update_plan","strict":true,"parameters":{"type":"object","properties":{"plan":{"type":"string"}},"required":["plan"],"additionalProperties":false}},` +
	`{"type":"function","name":"view_image","parameters":{"type":"object","properties":{"path":{"type":"string"}}}},` +
	`{"type":"custom","name":"apply_patch","format":{"type":"grammar","syntax":"lark","definition":"start: /.+/"}},` +
	`{"type":"local_shell"},{"type":"web_search"}]`

func decodeCodex(t *testing.T, choice string) *Request {
	t.Helper()
	r, err := DecodeRequest([]byte(`{"model":"gpt-5.2-codex","input":"List the files.",` + codexTools + `,"tool_choice":` + choice + `,"store":false}`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAllowedTools: tool_choice allowed_tools, which translated targets
// used to refuse, is honoured by translation: only the allowed function
// tools, with tool_choice auto or required. A tool only the Responses API
// runs that is not allowed no longer makes the request untranslatable, and
// a hosted one that is not allowed is not reported dropped.
func TestAllowedTools(t *testing.T) {
	for _, tc := range []struct {
		name, choice string
		tools        []string
		mode         llm.ToolChoiceMode
		unsupported  []string
		hosted       []string
	}{
		{"functions", `{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"update_plan"},{"type":"function","name":"shell"}]}`,
			[]string{"shell", "update_plan"}, llm.ToolChoiceRequired, nil, nil},
		{"with web_search", `{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"view_image"},{"type":"web_search"}]}`,
			[]string{"view_image"}, llm.ToolChoiceAuto, nil, []string{"web_search"}},
		{"with apply_patch and local_shell", `{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"shell"},{"type":"custom","name":"apply_patch"},{"type":"local_shell"}]}`,
			[]string{"shell"}, llm.ToolChoiceAuto, []string{"tools[3].type", "tools[4].type"}, nil},
		{"auto, hosted only", `{"type":"allowed_tools","mode":"auto","tools":[{"type":"web_search"}]}`,
			[]string{"shell", "update_plan", "view_image"}, llm.ToolChoiceNone, nil, []string{"web_search"}},
		{"required, hosted only", `{"type":"allowed_tools","mode":"required","tools":[{"type":"web_search"}]}`,
			[]string{"shell", "update_plan", "view_image"}, "", []string{"tool_choice.tools"}, []string{"web_search"}},
		{"namespace entry", `{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"shell"},{"type":"namespace","name":"calendar"}]}`,
			[]string{"shell"}, llm.ToolChoiceAuto, []string{"tool_choice.tools[1].type"}, nil},
		{"no allowed_tools", `"auto"`,
			[]string{"shell", "update_plan", "view_image"}, llm.ToolChoiceAuto, []string{"tools[3].type", "tools[4].type"}, []string{"web_search"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := decodeCodex(t, tc.choice)
			var names []string
			for _, tool := range r.Chat.Tools {
				names = append(names, tool.Name)
			}
			var mode llm.ToolChoiceMode
			if r.Chat.ToolChoice != nil {
				mode = r.Chat.ToolChoice.Mode
			}
			if !slices.Equal(names, tc.tools) || mode != tc.mode || !slices.Equal(r.Chat.Unsupported, tc.unsupported) || !slices.Equal(r.Hosted, tc.hosted) {
				t.Errorf("tools %v, choice %q, unsupported %q, hosted %q; want %v, %q, %q, %q",
					names, mode, r.Chat.Unsupported, r.Hosted, tc.tools, tc.mode, tc.unsupported, tc.hosted)
			}
		})
	}
}

func TestAllowedToolsErrors(t *testing.T) {
	for _, tc := range []struct{ choice, param, code string }{
		{`{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"get_stock_price"}]}`, "tool_choice.tools[0].name", "invalid_value"},
		{`{"type":"allowed_tools","mode":"auto","tools":[{"type":"custom","name":"shell"}]}`, "tool_choice.tools[0].name", "invalid_value"},
		{`{"type":"allowed_tools","mode":"auto","tools":[{"type":"function"}]}`, "tool_choice.tools[0].name", "missing_required_parameter"},
		{`{"type":"allowed_tools","mode":"auto","tools":[{"name":"shell"}]}`, "tool_choice.tools[0].type", "missing_required_parameter"},
		{`{"type":"allowed_tools","mode":"none","tools":[]}`, "tool_choice.mode", "invalid_value"},
		{`{"type":"allowed_tools","tools":[]}`, "tool_choice.mode", "missing_required_parameter"},
		{`{"type":"allowed_tools","mode":"auto"}`, "tool_choice.tools", "missing_required_parameter"},
		{`{"type":"allowed_tools","mode":"auto","tools":"shell"}`, "tool_choice.tools", "invalid_value"},
	} {
		_, err := DecodeRequest([]byte(`{"model":"gpt-5.2-codex","input":"List the files.",` + codexTools + `,"tool_choice":` + tc.choice + `}`))
		if err == nil {
			t.Errorf("%s: no error, want a 400 naming %q", tc.choice, tc.param)
			continue
		}
		if e := llm.AsError(err); e.Status != 400 || e.Param != tc.param || e.Code != tc.code {
			t.Errorf("%s: %v (param %q, code %q), want a 400 naming %q with code %q", tc.choice, err, e.Param, e.Code, tc.param, tc.code)
		}
	}
}

// TestAllowedToolsTranslated: what an Anthropic upstream and a
// Chat Completions one are sent; update_plan's explicit strict: true goes
// with it (docs: an absent strict stays unset, not OpenAI's Responses
// default of true).
func TestAllowedToolsTranslated(t *testing.T) {
	r := decodeCodex(t, `{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"shell"},{"type":"function","name":"update_plan"}]}`)
	out, err := anthropic.EncodeMessagesRequest(r.Chat)
	if err != nil {
		t.Fatalf("anthropic: %v", err)
	}
	var a struct {
		Tools []struct {
			Name   string `json:"name"`
			Strict *bool  `json:"strict"`
		} `json:"tools"`
		ToolChoice json.RawMessage `json:"tool_choice"`
	}
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Tools) != 2 || a.Tools[0].Name != "shell" || a.Tools[0].Strict != nil ||
		a.Tools[1].Name != "update_plan" || a.Tools[1].Strict == nil || !*a.Tools[1].Strict ||
		string(a.ToolChoice) != `{"type":"any"}` {
		t.Errorf("anthropic body: %s", out)
	}
	out, err = openai.EncodeChatRequest(r.Chat)
	if err != nil {
		t.Fatalf("openai: %v", err)
	}
	var o struct {
		Tools []struct {
			Function struct {
				Name   string `json:"name"`
				Strict *bool  `json:"strict"`
			} `json:"function"`
		} `json:"tools"`
		ToolChoice json.RawMessage `json:"tool_choice"`
	}
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatal(err)
	}
	if len(o.Tools) != 2 || o.Tools[0].Function.Strict == nil || *o.Tools[0].Function.Strict ||
		o.Tools[1].Function.Strict == nil || !*o.Tools[1].Function.Strict || string(o.ToolChoice) != `"required"` {
		t.Errorf("openai body: %s", out)
	}
}

// TestDecodeReferences: every input item carrying an id is a reference
// (OpenAI resolves it from its store), named by its param; an item given
// by id alone is an item_reference whose type was left out; the
// conversation's id is read from either of its shapes.
func TestDecodeReferences(t *testing.T) {
	for _, c := range []struct {
		name, body   string
		refs         []ItemRef
		needs, convo string
	}{
		{"none", `{"model":"m","input":[{"role":"user","content":"hi"}]}`, nil, "", ""},
		{"item_reference", `{"model":"m","input":[{"role":"user","content":"hi"},{"type":"item_reference","id":"msg_1"}]}`,
			[]ItemRef{{Param: "input[1].id", ID: "msg_1"}}, "input[1]", ""},
		{"id alone", `{"model":"m","input":[{"id":"msg_1"}]}`, []ItemRef{{Param: "input[0].id", ID: "msg_1"}}, "input[0]", ""},
		{"reasoning and output given back", `{"model":"m","input":[{"type":"reasoning","id":"rs_1","summary":[]},` +
			`{"type":"message","id":"msg_1","role":"assistant","content":"hello"},{"type":"function_call","id":"fc_1","call_id":"c","name":"f","arguments":"{}"}]}`,
			[]ItemRef{{Param: "input[0].id", ID: "rs_1"}, {Param: "input[1].id", ID: "msg_1"}, {Param: "input[2].id", ID: "fc_1"}}, "", ""},
		{"approval and container", `{"model":"m","input":[{"type":"mcp_approval_response","approval_request_id":"mcpr_1","approve":true},` +
			`{"type":"code_interpreter_call","id":"ci_1","container_id":"cntr_1","code":"1+1"}],` +
			`"tools":[{"type":"code_interpreter","container":{"type":"auto"}},{"type":"code_interpreter","container":"cntr_2"}]}`,
			[]ItemRef{{Param: "input[0].approval_request_id", ID: "mcpr_1"}, {Param: "input[1].id", ID: "ci_1"},
				{Param: "input[1].container_id", ID: "cntr_1", Container: true}, {Param: "tools[1].container", ID: "cntr_2", Container: true}}, "", ""},
		{"conversation string", `{"model":"m","input":"hi","conversation":"conv_1"}`, nil, "conversation", "conv_1"},
		{"conversation object", `{"model":"m","input":"hi","conversation":{"id":"conv_2"}}`, nil, "conversation", "conv_2"},
	} {
		r, err := DecodeRequest([]byte(c.body))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.Equal(r.Refs, c.refs) || r.NeedsStore != c.needs || r.Conversation != c.convo {
			t.Errorf("%s: refs %v needs %q conversation %q; want %v %q %q", c.name, r.Refs, r.NeedsStore, r.Conversation, c.refs, c.needs, c.convo)
		}
	}
}

// TestItemOf: the ids EncodeResponse gives its output items name their
// response and index; ids Fulcrum did not make are not taken for its own.
// DecodeRequest lists the reasoning items given by id without their
// encrypted_content, which the gateway fills in from its store.
func TestItemOf(t *testing.T) {
	for _, tc := range []struct {
		id   string
		resp string
		n    int
		ok   bool
	}{
		{itemID("rs", "resp_01abc", 0), "resp_01abc", 0, true},
		{itemID("fc", "resp_a_b", 12), "resp_a_b", 12, true},
		{"rs_68af1c2e", "", 0, false},
		{"rs_abc_x", "", 0, false},
		{"rs_abc_-1", "", 0, false},
		{"rs_abc_01", "", 0, false},
		{"rs__3", "", 0, false},
		{"rs", "", 0, false},
	} {
		resp, n, ok := ItemOf(tc.id)
		if resp != tc.resp || n != tc.n || ok != tc.ok {
			t.Errorf("ItemOf(%q) = %q, %d, %v; want %q, %d, %v", tc.id, resp, n, ok, tc.resp, tc.n, tc.ok)
		}
	}
	r, err := DecodeRequest([]byte(`{"model":"m","input":[{"role":"user","content":"hi"},
		{"type":"reasoning","id":"rs_x_0","summary":[]},
		{"type":"reasoning","id":"rs_x_1","summary":[],"encrypted_content":"sig"},
		{"type":"reasoning","summary":[{"type":"summary_text","text":"t"}]},
		{"type":"function_call","id":"fc_x_2","call_id":"c1","name":"f","arguments":"{}"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Unsigned{{Index: 1, ID: "rs_x_0"}}; !slices.Equal(r.Unsigned, want) {
		t.Errorf("Unsigned = %v, want %v", r.Unsigned, want)
	}
}
