package fake

import "testing"

func TestToolCall(t *testing.T) {
	tests := []struct {
		text, first string
		name, args  string
		ok          bool
	}{
		{"hello", "get_weather", "get_weather", ToolArgs, true},
		{"hello", "", "", "", false},
		{"[[plain]] hello", "get_weather", "", "", false},
		{`read [[call:Read {"file_path":"/tmp/a]]b"}]] now`, "Agent", "Read", `{"file_path":"/tmp/a]]b"}`, true},
		{`[[call:exec_command {"cmd":"cat x"}]]`, "", "exec_command", `{"cmd":"cat x"}`, true},
		{`[[call:noargs]]`, "", "noargs", `{}`, true},
		{`[[call:bad {not json}]]`, "", "", "", false},
	}
	for _, tt := range tests {
		name, args, ok := ToolCall(tt.text, tt.first)
		if name != tt.name || args != tt.args || ok != tt.ok {
			t.Errorf("ToolCall(%q, %q) = %q, %q, %v; want %q, %q, %v", tt.text, tt.first, name, args, ok, tt.name, tt.args, tt.ok)
		}
	}
}
