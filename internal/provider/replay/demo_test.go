package replay

import (
	"context"
	"os"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// The shipped demo config parses, and its two replay providers answer a
// GSM8K question with their hosting as documented.
func TestDemoConfig(t *testing.T) {
	b, err := os.ReadFile("../../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]provider.Hosting{"gpt-4": provider.Proprietary, "mixtral-8x7b": provider.SelfHosted}
	for _, pc := range cfg.Providers {
		c, err := New(pc)
		if err != nil {
			t.Fatal(err)
		}
		if c.Info().Hosting != want[pc.Name] {
			t.Errorf("%s: hosting %s, want %s", pc.Name, c.Info().Hosting, want[pc.Name])
		}
		resp, err := c.Chat(context.Background(), permit(c), &llm.ChatRequest{Model: "x", Messages: []llm.Message{
			llm.TextMessage(llm.RoleUser, "A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total does it take?"),
		}})
		if err != nil || resp.Choices[0].Message.Text() == "" {
			t.Errorf("%s: %v", pc.Name, err)
		}
	}
	if len(cfg.Providers) != 2 || len(cfg.Models) != 2 || len(cfg.Routes) != 3 {
		t.Errorf("demo has %d providers, %d models, %d routes", len(cfg.Providers), len(cfg.Models), len(cfg.Routes))
	}
}
