package meter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// TestCloudLookup checks the catalogue prices of the cloud provider types
// at the LiteLLM snapshot's list prices (USD per million tokens × 1e6 =
// picodollars per token), including the regional differences it records.
func TestCloudLookup(t *testing.T) {
	c := catalogue(t).WithRegions(map[string]string{"bedrock-fra": "eu-central-1", "azure-eu": "eu", "azure-us": "us"})
	tests := []struct {
		name, typ, model string
		input, output    Picos
	}{
		// Bedrock: an EU cross-region inference profile is 10% above the
		// on-demand id ($3.30 / $16.50 vs $3 / $15 for Sonnet 4.5).
		{"bedrock-fra", "bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", 3_300_000, 16_500_000},
		{"bedrock-fra", "bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", 3_000_000, 15_000_000},
		{"bedrock-fra", "bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", 3_000_000, 15_000_000},
		// In-region on-demand price where the snapshot lists one: Claude
		// Instant costs $2.48 in eu-central-1 and $0.80 elsewhere.
		{"bedrock-fra", "bedrock", "anthropic.claude-instant-v1", 2_480_000, 8_380_000},
		{"bedrock-us", "bedrock", "anthropic.claude-instant-v1", 800_000, 2_400_000},
		// A profile the snapshot lacks falls back to the on-demand id.
		{"bedrock-fra", "bedrock", "eu.meta.llama3-3-70b-instruct-v1:0", 720_000, 720_000},
		{"bedrock-fra", "bedrock", "amazon.titan-embed-text-v2:0", 20_000, 0},
		{"bedrock-fra", "bedrock", "cohere.embed-multilingual-v3", 100_000, 0},
		// Azure: a Data Zone EU/US deployment of a dated model is 10% above
		// Global ($2.75 vs $2.50 for gpt-4o-2024-08-06).
		{"azure-eu", "azure_openai", "gpt-4o-2024-08-06", 2_750_000, 11_000_000},
		{"azure-us", "azure_openai", "gpt-4o-2024-08-06", 2_750_000, 11_000_000},
		{"azure-global", "azure_openai", "gpt-4o-2024-08-06", 2_500_000, 10_000_000},
		{"azure-eu", "azure_openai", "gpt-4o", 2_500_000, 10_000_000},
		{"azure-eu", "azure_openai", "text-embedding-3-small", 20_000, 0},
		// A model Azure's entries lack is priced as OpenAI sells it.
		{"azure-eu", "azure_openai", "chatgpt-4o-latest", 5_000_000, 15_000_000},
		// Vertex: Claude ids carry "@date" or "@default".
		{"vertex-eu", "vertex", "claude-sonnet-4-5@20250929", 3_000_000, 15_000_000},
		{"vertex-eu", "vertex", "claude-sonnet-4-5@20991231", 3_000_000, 15_000_000},
		{"vertex-eu", "vertex", "claude-opus-4-6@default", 5_000_000, 25_000_000},
		{"vertex-eu", "vertex", "gemini-2.5-flash", 300_000, 2_500_000},
		{"vertex-eu", "vertex", "gemini-2.5-pro", 1_250_000, 10_000_000},
		{"vertex-eu", "vertex", "text-embedding-005", 100_000, 0},
		// Mistral's La Plateforme.
		{"mistral-eu", "mistral", "mistral-large-latest", 500_000, 1_500_000},
		{"mistral-eu", "mistral", "mistral-small-latest", 60_000, 180_000},
		{"mistral-eu", "mistral", "mistral-embed", 100_000, 0},
	}
	for _, tt := range tests {
		p, ok := c.Resolve(tt.name, tt.typ, tt.model)
		if !ok || p.Input != tt.input || p.Output != tt.output {
			t.Errorf("Resolve(%s, %s, %s) = in %d out %d (found %v); want %d / %d", tt.name, tt.typ, tt.model, p.Input, p.Output, ok, tt.input, tt.output)
		}
	}
	// A lookup without a provider type prefers the vendor's own price.
	if p, _ := c.Lookup("", "gpt-4o-mini"); p.Input != 150_000 {
		t.Errorf("Lookup(\"\", gpt-4o-mini) = %d, want OpenAI's 150000 (Azure lists 165000)", p.Input)
	}
	if _, ok := c.Lookup("mistral", "gpt-4o"); ok {
		t.Error("mistral type priced an OpenAI model")
	}
}

// TestPriceRegion checks which configured region selects regional entries.
func TestPriceRegion(t *testing.T) {
	tests := []struct {
		p    config.Provider
		want string
	}{
		{config.Provider{Type: config.TypeBedrock, AWS: &config.AWS{Region: "eu-central-1"}}, "eu-central-1"},
		{config.Provider{Type: config.TypeAzureOpenAI, Region: "EU"}, "eu"},
		{config.Provider{Type: config.TypeAzureOpenAI, Region: "us-east"}, "us"},
		{config.Provider{Type: config.TypeAzureOpenAI, Region: "global"}, ""},
		{config.Provider{Type: config.TypeVertex, Region: "eu"}, ""},
		{config.Provider{Type: config.TypeOpenAI, Region: "eu"}, ""},
	}
	for _, tt := range tests {
		if got := PriceRegion(&tt.p); got != tt.want {
			t.Errorf("PriceRegion(%s, %q) = %q, want %q", tt.p.Type, tt.p.Region, got, tt.want)
		}
	}
}

// TestExampleModelsPriced checks that every model of a proprietary cloud
// provider in examples/*.yaml is metered at a non-zero list price, so a
// deployment copied from an example never records its calls as free.
func TestExampleModelsPriced(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples: %v (%d files)", err, len(files))
	}
	seen := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse(b, func(k string) (string, bool) { return "value-of-" + k, true })
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		p, err := NewPricer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cfg.Models {
			pc := cfg.ProviderByName(m.Provider)
			switch pc.Type {
			case config.TypeAzureOpenAI, config.TypeBedrock, config.TypeVertex, config.TypeMistral:
			default:
				continue
			}
			up := m.Upstream
			if up == "" {
				up = m.Name
			}
			u := llm.Usage{InputTokens: 1000, OutputTokens: 100}
			cost, _ := p.Price(pc.Name, pc.Type, up, &u)
			if cost <= 0 {
				t.Errorf("%s: model %s (%s %s) costs %d for 1000+100 tokens", filepath.Base(f), m.Name, pc.Type, up, cost)
			}
			if strings.EqualFold(m.Type, "embedding") {
				continue
			}
			if wc := p.WorstCase(pc.Name, pc.Type, up, 1000, 100, 1); wc <= cost/2 {
				t.Errorf("%s: model %s worst case %d below its cost %d", filepath.Base(f), m.Name, wc, cost)
			}
			seen[pc.Type]++
		}
	}
	for _, typ := range []string{config.TypeAzureOpenAI, config.TypeBedrock, config.TypeVertex, config.TypeMistral} {
		if seen[typ] == 0 {
			t.Errorf("no example chat model of type %s", typ)
		}
	}
}
