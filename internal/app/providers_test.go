package app

import (
	"context"
	"log/slog"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// TestBuildProvidersLeavesConfig: discovering an Ollama provider's models
// returns a new config with them; the loaded config is not modified (it
// used to be, by appending to cfg.Models).
func TestBuildProvidersLeavesConfig(t *testing.T) {
	o := fake.NewOllama()
	defer o.Close()
	cfg := parse(t, `
providers:
  - { name: local, type: ollama, base_url: "`+o.URL+`", hosting: self_hosted }
`)
	before := len(cfg.Models)
	_, eff, err := BuildProviders(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Models) != before {
		t.Errorf("cfg.Models changed: %d -> %d", before, len(cfg.Models))
	}
	if eff == cfg || len(eff.Models) != before+len(fake.OllamaModels) {
		t.Errorf("effective config has %d models, want %d", len(eff.Models), before+len(fake.OllamaModels))
	}
}
