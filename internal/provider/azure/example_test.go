package azure

import (
	"os"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// TestExampleConfig checks that examples/azure_openai.yaml loads,
// validates and builds, and maps its models to deployments.
func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("../../../examples/azure_openai.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b, func(k string) (string, bool) { return "value-of-" + k, true })
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg.Providers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.http.Client.CloseIdleConnections()
	if d := c.Deployment("gpt-4o"); d != "gpt4o-prod" {
		t.Errorf("deployment = %q", d)
	}
}
