package gemini

import (
	"os"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// TestExampleConfig checks that examples/gemini.yaml loads and that its
// gemini providers build.
func TestExampleConfig(t *testing.T) {
	env := func(k string) (string, bool) { return "test-key", k == "GEMINI_API_KEY" }
	b, err := os.ReadFile("../../../examples/gemini.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b, env)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range cfg.Providers {
		if p.Type != config.TypeGemini {
			continue
		}
		c, err := New(p)
		if err != nil {
			t.Fatal(err)
		}
		c.http.Client.CloseIdleConnections()
		n++
	}
	if n == 0 {
		t.Fatal("no gemini provider in the example")
	}
}
