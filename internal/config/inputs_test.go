package config

import (
	"strings"
	"testing"
)

// TestMaxJSONDepthBound: server.max_json_depth may not exceed what the
// policy scanner reads (jsonscan.DepthLimit), so a body the gateway
// accepts can always be scanned to the end.
func TestMaxJSONDepthBound(t *testing.T) {
	cfg := func(depth string) string {
		return "server: { max_json_depth: " + depth + " }\nproviders:\n  - { name: p, type: ollama }\nmodels:\n  - { name: m, provider: p }\n"
	}
	none := func(string) (string, bool) { return "", false }
	if _, err := Parse([]byte(cfg("10000")), none); err != nil {
		t.Errorf("max_json_depth 10000: %v", err)
	}
	if _, err := Parse([]byte(cfg("10001")), none); err == nil || !strings.Contains(err.Error(), "at most 10000") {
		t.Errorf("max_json_depth 10001: err = %v, want at most 10000", err)
	}
}
