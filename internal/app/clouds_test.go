package app

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// TestVertexGeminiWiring: a vertex provider sends Gemini models through
// the gemini adapter's translation to Vertex's publishers/google URLs, with
// a Google OAuth token instead of an API key.
func TestVertexGeminiWiring(t *testing.T) {
	f := fake.NewVertex("fake-project", "europe-west4")
	defer f.Close()
	sa := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(sa, f.ServiceAccountJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := NewProvider(config.Provider{Name: "vx", Type: config.TypeVertex, BaseURL: f.URL, Region: "eu",
		Vertex: &config.Vertex{Project: "fake-project", Location: "europe-west4", CredentialsFile: sa}})
	if err != nil {
		t.Fatal(err)
	}
	if i := p.Info(); i.Type != "vertex" || i.Region != "eu" {
		t.Errorf("info = %+v", i)
	}
	req := &llm.ChatRequest{Model: "gemini-2.5-flash", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "Salut")}}
	resp, err := p.Chat(t.Context(), permit(p), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != fake.Reply("Salut") {
		t.Errorf("text = %q", got)
	}
	s, err := p.ChatStream(t.Context(), permit(p), req)
	if err != nil {
		t.Fatal(err)
	}
	var text string
	for {
		c, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		text += c.Text
	}
	s.Close()
	if text != fake.Reply("Salut") {
		t.Errorf("streamed = %q", text)
	}
	reqs := f.Log.All()
	last := reqs[len(reqs)-1]
	if last.Path != "/v1/projects/fake-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse" ||
		!strings.HasPrefix(last.Header.Get("Authorization"), "Bearer ya29.") || last.Header.Get("X-Goog-Api-Key") != "" {
		t.Errorf("request %s auth %q key %q", last.Path, last.Header.Get("Authorization"), last.Header.Get("X-Goog-Api-Key"))
	}
}

// TestCloudExamplesBuild: the example configs of the cloud types load,
// validate and build their providers.
func TestCloudExamplesBuild(t *testing.T) {
	for _, name := range []string{"bedrock", "azure_openai", "vertex", "mistral", "eu-bank"} {
		b, err := os.ReadFile("../../examples/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse(b, func(k string) (string, bool) { return "x", true })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, pc := range cfg.Providers {
			if _, err := NewProvider(pc); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// permit mints the permit a direct call in these wiring tests presents
// (they test the adapters as built, not data policy).
func permit(p provider.Provider) policy.Permit {
	pm, err := policy.Unrestricted().Permit(p.Info())
	if err != nil {
		panic(err)
	}
	return pm
}
