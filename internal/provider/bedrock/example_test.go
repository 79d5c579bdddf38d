package bedrock

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// TestExampleConfig checks that examples/bedrock.yaml loads, validates and
// builds, and that its EU models are inference profiles the region check
// lets through.
func TestExampleConfig(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	b, err := os.ReadFile("../../../examples/bedrock.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Providers[0]
	if p.BaseURL != "https://bedrock-runtime.eu-central-1.amazonaws.com" {
		t.Errorf("base_url = %q", p.BaseURL)
	}
	c, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.http.Client.CloseIdleConnections()
	for _, m := range cfg.Models {
		if err := c.checkModel(m.Upstream); err != nil {
			t.Errorf("%s: %v", m.Name, err)
		}
	}
}
