package ollama

import (
	"os"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// TestExampleConfig checks that examples/ollama.yaml loads and that its
// ollama providers build.
func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("../../../examples/ollama.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range cfg.Providers {
		if p.Type != config.TypeOllama {
			continue
		}
		if _, err := New(p); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no ollama provider in the example")
	}
}
