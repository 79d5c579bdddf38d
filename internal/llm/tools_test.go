package llm

import (
	"reflect"
	"testing"
)

func TestAllowTools(t *testing.T) {
	tools := []Tool{{Name: "get_weather"}, {Name: "get_time"}, {Name: "send_email"}}
	for _, tc := range []struct {
		name    string
		allowed map[string]bool
		mode    ToolChoiceMode
		ok      bool
		tools   []Tool
		choice  *ToolChoice
	}{
		{"auto subset", map[string]bool{"get_time": true, "get_weather": true}, ToolChoiceAuto, true,
			[]Tool{{Name: "get_weather"}, {Name: "get_time"}}, &ToolChoice{Mode: ToolChoiceAuto}},
		{"required one", map[string]bool{"send_email": true}, ToolChoiceRequired, true,
			[]Tool{{Name: "send_email"}}, &ToolChoice{Mode: ToolChoiceRequired}},
		{"auto none of them", map[string]bool{"apply_patch": true}, ToolChoiceAuto, true,
			tools, &ToolChoice{Mode: ToolChoiceNone}},
		{"required none of them", map[string]bool{}, ToolChoiceRequired, false, tools, nil},
	} {
		r := ChatRequest{Tools: append([]Tool(nil), tools...)}
		if ok := r.AllowTools(tc.allowed, tc.mode); ok != tc.ok {
			t.Errorf("%s: AllowTools = %v, want %v", tc.name, ok, tc.ok)
		}
		if !reflect.DeepEqual(r.Tools, tc.tools) || !reflect.DeepEqual(r.ToolChoice, tc.choice) {
			t.Errorf("%s: tools %+v, choice %+v; want %+v, %+v", tc.name, r.Tools, r.ToolChoice, tc.tools, tc.choice)
		}
	}
}
