package meter

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func catalogue(t testing.TB) *Catalogue {
	t.Helper()
	c, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCostCatalogue(t *testing.T) {
	c := catalogue(t)
	tests := []struct {
		name, provider, model string
		u                     llm.Usage
		want                  Nanos
	}{
		// The seed figures: GPT-4 at $0.03/1K in, $0.06/1K out.
		// 1000 × $0.00003 + 500 × $0.00006 = $0.03 + $0.03.
		{"gpt-4 seed", "openai", "gpt-4", llm.Usage{InputTokens: 1000, OutputTokens: 500}, 60_000_000},
		{"gpt-4 one token each", "openai", "gpt-4", llm.Usage{InputTokens: 1, OutputTokens: 1}, 90_000},
		// gpt-4o: $2.50/M in, $1.25/M cached, $10/M out.
		// 2000 × 2.5e-6 + 8000 × 1.25e-6 + 1000 × 1e-5 = 0.005 + 0.01 + 0.01.
		{"gpt-4o cached", "openai", "gpt-4o", llm.Usage{InputTokens: 10_000, CacheReadTokens: 8000, OutputTokens: 1000}, 25_000_000},
		{"gpt-4o dated name", "openai", "openai/gpt-4o-2024-08-06", llm.Usage{InputTokens: 10_000, CacheReadTokens: 8000, OutputTokens: 1000}, 25_000_000},
		// claude-sonnet-4-5: $3 in, $0.30 cache read, $3.75 cache write, $15 out.
		// 2000×3 + 1000×0.3 + 2000×3.75 + 300×15 = 6000 + 300 + 7500 + 4500 = 18300 µ$.
		{"claude cache read and write", "anthropic", "claude-sonnet-4-5", llm.Usage{InputTokens: 5000, CacheReadTokens: 1000, CacheWriteTokens: 2000, OutputTokens: 300}, 18_300_000},
		// Above 200k input tokens every token is at the long-context price:
		// 250000 × $6/M + 1000 × $22.50/M = 1.5 + 0.0225.
		{"claude long context", "anthropic", "claude-sonnet-4-5", llm.Usage{InputTokens: 250_000, OutputTokens: 1000}, 1_522_500_000},
		// 18,750 picodollars = 18.75 nanodollars, rounded half up once.
		{"fractional nanos round", "gemini", "gemini-2.0-flash-lite", llm.Usage{InputTokens: 1, CacheReadTokens: 1}, 19},
		// Reasoning tokens are output tokens at the output price.
		{"reasoning at output price", "openai", "o3", llm.Usage{InputTokens: 100, OutputTokens: 1000, ReasoningTokens: 800}, 8_200_000},
		// Embeddings: $0.02/M.
		{"embedding", "openai", "text-embedding-3-small", llm.Usage{InputTokens: 1_000_000}, 20_000_000},
	}
	for _, tt := range tests {
		p, ok := c.Lookup(tt.provider, tt.model)
		if !ok {
			t.Errorf("%s: no price for %s/%s", tt.name, tt.provider, tt.model)
			continue
		}
		if got := Cost(tt.u, p); got != tt.want {
			t.Errorf("%s: Cost = %d (%s), want %d (%s)", tt.name, got, got, tt.want, tt.want)
		}
	}
}

func TestCostPure(t *testing.T) {
	p := Price{Input: 10, Output: 20, CacheRead: 1, CacheWrite: 15, Reasoning: 40}
	tests := []struct {
		name string
		u    llm.Usage
		p    Price
		want Nanos
	}{
		{"zero", llm.Usage{}, p, 0},
		// 1000 reasoning × 40 + 1000 other output × 20 = 60,000 picos = 60 nanos.
		{"separate reasoning price", llm.Usage{OutputTokens: 2000, ReasoningTokens: 1000}, p, 60},
		{"parts clamped to the whole", llm.Usage{InputTokens: 100, CacheReadTokens: 500, OutputTokens: 10, ReasoningTokens: 99}, p, 1}, // 100×1 + 10×40 = 500 picos -> 0.5 -> 1
		{"negative counts are zero", llm.Usage{InputTokens: -5, OutputTokens: -1}, p, 0},
		{"half rounds up", llm.Usage{InputTokens: 50}, p, 1},
		{"below half rounds down", llm.Usage{InputTokens: 49}, p, 0},
		{"saturates", llm.Usage{InputTokens: math.MaxInt64, OutputTokens: math.MaxInt64}, Price{Input: math.MaxInt64, Output: math.MaxInt64}, math.MaxInt64},
		// 1e12 tokens at $60/M = $60,000,000: 6e19 picos overflow int64, the 128-bit sum does not.
		{"large but exact", llm.Usage{OutputTokens: 1_000_000_000_000}, Price{Output: 60_000_000}, 60_000_000_000_000_000},
	}
	for _, tt := range tests {
		if got := Cost(tt.u, tt.p); got != tt.want {
			t.Errorf("%s: Cost = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCostEstimated(t *testing.T) {
	// An upstream that reported no usage: count with the tokenizer.
	// "We know what we are, but know not what we may be." is 14 tokens in
	// o200k_base (tiktoken's own test vector), "supercalifragilistic" 6.
	in := EstimateTokens("gpt-4o", "We know what we are, but know not what we may be.")
	out := EstimateTokens("gpt-4o", "supercalifragilistic")
	if in != 14 || out != 6 {
		t.Fatalf("EstimateTokens = %d, %d; want 14, 6", in, out)
	}
	u := llm.Usage{InputTokens: in, OutputTokens: out, Estimated: true}
	p, _ := catalogue(t).Lookup("openai", "gpt-4o")
	// 14 × $2.50/M + 6 × $10/M = 35 µ$ + 60 µ$.
	if got := Cost(u, p); got != 95_000 {
		t.Errorf("Cost = %d, want 95000", got)
	}
}

func TestEstimateTokens(t *testing.T) {
	tests := []struct {
		model string
		texts []string
		want  int64
	}{
		{"gpt-4o", []string{"hello world"}, 2},
		{"o3-mini", []string{"hello world", "", "hello world"}, 4},
		// cl100k_base: "supercalifragilistic" is 6 tokens ([13066 3035 278 333 4193 4633]... tiktoken test vector).
		{"gpt-4", []string{"We know what we are, but know not what we may be."}, 14},
		{"claude-sonnet-4-5", nil, 0},
		{"gpt-4", []string{"\xff\xfe invalid utf-8"}, 0}, // checked below only for > 0
	}
	for _, tt := range tests[:4] {
		if got := EstimateTokens(tt.model, tt.texts...); got != tt.want {
			t.Errorf("EstimateTokens(%s, %q) = %d, want %d", tt.model, tt.texts, got, tt.want)
		}
	}
	if got := EstimateTokens("gpt-4", tests[4].texts...); got <= 0 {
		t.Errorf("invalid UTF-8 counted %d tokens", got)
	}
	for m, want := range map[string]bool{"gpt-4o-mini": true, "o1": true, "gpt-5-nano": true, "gpt-4": false, "gpt-3.5-turbo": false, "ollama": false} {
		if usesO200k(m) != want {
			t.Errorf("usesO200k(%s) = %v", m, !want)
		}
	}
}

func TestLookup(t *testing.T) {
	c := catalogue(t)
	tests := []struct {
		provider, model string
		found           bool
		input           Picos
	}{
		{"openai", "gpt-4", true, 30_000_000},
		{"openai", "GPT-4o", true, 2_500_000},
		{"openai", "gpt-4o-2099-01-01", true, 2_500_000}, // unknown date -> family
		{"anthropic", "claude-sonnet-4-5-20990101", true, 3_000_000},
		{"anthropic", "anthropic/claude-sonnet-4-5", true, 3_000_000},
		{"gemini", "models/gemini-2.5-pro", true, 1_250_000},
		{"gemini", "gemini-2.5-flash-latest", true, 300_000},
		{"", "gpt-4", true, 30_000_000},
		{"anthropic", "gpt-4", false, 0},
		{"openai", "meta-llama/Llama-3.1-8B-Instruct", false, 0},
		{"openai", "gpt", false, 0},
	}
	for _, tt := range tests {
		p, ok := c.Lookup(tt.provider, tt.model)
		if ok != tt.found || p.Input != tt.input {
			t.Errorf("Lookup(%q, %q) = %d, %v; want %d, %v", tt.provider, tt.model, p.Input, ok, tt.input, tt.found)
		}
	}
	gpt4, _ := c.Lookup("openai", "gpt-4")
	if gpt4.CacheRead != gpt4.Input || gpt4.Reasoning != gpt4.Output || gpt4.Long != nil {
		t.Errorf("absent prices not defaulted: %+v", gpt4)
	}
}

func TestOverrides(t *testing.T) {
	base := catalogue(t)
	c := base.WithOverrides(OverridesFromConfig([]config.Model{
		{Name: "gpt-4o", Provider: "azure-eu", Upstream: "gpt-4o", Price: &config.Price{Input: 2, Output: 8.5}},
		{Name: "llama", Provider: "gpu-box", Upstream: "meta-llama/Llama-3.1-8B-Instruct", Price: &config.Price{Input: 0.05, Output: 0.22, CacheRead: 0.01}},
		{Name: "plain", Provider: "openai"},
	})...)
	tests := []struct {
		name, typ, model string
		want             Price
	}{
		{"azure-eu", "openai", "gpt-4o", Price{Input: 2_000_000, Output: 8_500_000, CacheRead: 2_000_000, CacheWrite: 2_000_000, Reasoning: 8_500_000}},
		{"gpu-box", "openai", "meta-llama/Llama-3.1-8B-Instruct", Price{Input: 50_000, Output: 220_000, CacheRead: 10_000, CacheWrite: 50_000, Reasoning: 220_000}},
	}
	for _, tt := range tests {
		got, ok := c.Resolve(tt.name, tt.typ, tt.model)
		if !ok {
			t.Errorf("Resolve(%s, %s) not found", tt.name, tt.model)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Resolve(%s, %s) (-want +got):\n%s", tt.name, tt.model, diff)
		}
	}
	// Another provider of the same type still gets the catalogue price.
	if p, _ := c.Resolve("openai", "openai", "gpt-4o"); p.Input != 2_500_000 {
		t.Errorf("override leaked to provider openai: %+v", p)
	}
	if _, ok := base.Resolve("gpu-box", "openai", "meta-llama/Llama-3.1-8B-Instruct"); ok {
		t.Error("WithOverrides changed the base catalogue")
	}
	if got := c.List(); got[0].Source != "config" || len(got) != len(base.List())+2 {
		t.Errorf("List: first %+v, %d entries", got[0], len(got))
	}
}

func TestNanosString(t *testing.T) {
	tests := []struct {
		n    Nanos
		want string
	}{
		{0, "$0.00"},
		{60_000_000, "$0.06"},
		{123_000, "$0.000123"},
		{1, "$0.000000001"},
		{1_500_000_000, "$1.50"},
		{-1_500_000_000, "-$1.50"},
		{1_234_567_891_234, "$1234.567891234"},
		{math.MinInt64, "-$9223372036.854775808"},
	}
	for _, tt := range tests {
		if got := tt.n.String(); got != tt.want {
			t.Errorf("Nanos(%d) = %q, want %q", int64(tt.n), got, tt.want)
		}
	}
	if got := PicosFromPerMillion(0.075); got != 75_000 {
		t.Errorf("PicosFromPerMillion(0.075) = %d", got)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, catalogue(t).Find("gpt-4")); err != nil {
		t.Fatal(err)
	}
	// gpt-4 is sold by OpenAI and by Azure OpenAI, both at $30 / $60.
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("table:\n%s", b.String())
	}
	for i, prov := range []string{"openai", "azure_openai"} {
		l := lines[i+1]
		if f := strings.Fields(l); f[0] != prov || f[1] != "gpt-4" || !strings.Contains(l, "30.00") || !strings.Contains(l, "60.00") || !strings.Contains(l, "2026-07-24") {
			t.Errorf("line %d: %q", i+1, l)
		}
	}
}

func TestCatalogueCredit(t *testing.T) {
	c := catalogue(t)
	if !strings.Contains(c.Attribution, "BerriAI/litellm") || !strings.Contains(c.Attribution, "MIT") || c.Snapshot != "2026-07-24" {
		t.Errorf("attribution %q, snapshot %q", c.Attribution, c.Snapshot)
	}
	for _, e := range c.List() {
		switch e.Provider {
		case "openai", "anthropic", "gemini", "azure_openai", "bedrock", "vertex", "mistral":
		default:
			t.Errorf("unsupported provider in catalogue: %+v", e)
		}
	}
}

func BenchmarkCost(b *testing.B) {
	p, _ := catalogue(b).Lookup("anthropic", "claude-sonnet-4-5")
	u := llm.Usage{InputTokens: 5000, CacheReadTokens: 1000, CacheWriteTokens: 2000, OutputTokens: 300}
	b.ReportAllocs()
	for b.Loop() {
		Cost(u, p)
	}
}

func BenchmarkLookupDated(b *testing.B) {
	c := catalogue(b)
	b.ReportAllocs()
	for b.Loop() {
		c.Lookup("openai", "gpt-4o-2099-01-01")
	}
}
