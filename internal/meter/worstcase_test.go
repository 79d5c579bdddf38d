package meter

import (
	"math"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// The budgets' worst case: max_tokens for each choice, or, for a request
// that sets none, the model's output limit from the catalogue (gpt-4o:
// 16,384, per the LiteLLM snapshot), else DefaultMaxOutput. By hand, at
// gpt-4o's $2.50 / $10 per M (2,500 / 10,000 nanodollars a token):
//
//	1,000 prompt + 1,000 output:          2.5e6 + 10e6    = 12,500,000
//	1,000 prompt + 4 × 1,000 output:      2.5e6 + 40e6    = 42,500,000
//	1,000 prompt + 16,384 output:         2.5e6 + 163.84e6 = 166,340,000
//	1,000 prompt + 2 × 16,384 output:     2.5e6 + 327.68e6 = 330,180,000
func TestWorstCaseOutputBound(t *testing.T) {
	cfg, err := config.Parse([]byte(`
providers:
  - { name: oa, type: openai, api_key: k }
  - { name: gpu, type: openai, base_url: "http://127.0.0.1:1/v1", hosting: self_hosted, cost: { gpu_hourly_usd: 2, gpus: 1, per_million_usd: 0.5 } }
models:
  - { name: m, provider: oa, upstream: gpt-4o }
  - { name: l, provider: gpu, upstream: llama }
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPricer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		maxTokens, choices int64
		want               Nanos
	}{
		{1000, 1, 12_500_000},
		{1000, 4, 42_500_000},
		{0, 1, 166_340_000},
		{0, 2, 330_180_000},
		{1000, 0, 12_500_000}, // n absent counts as one choice
	} {
		if got := p.WorstCase("oa", config.TypeOpenAI, "gpt-4o", 1000, c.maxTokens, c.choices); got != c.want {
			t.Errorf("gpt-4o, max_tokens %d, %d choices: %d, want %d", c.maxTokens, c.choices, got, c.want)
		}
	}
	// Self-hosted: no catalogue limit, so DefaultMaxOutput at its output
	// price; compared with an explicit max_tokens of the same size.
	if a, b := p.WorstCase("gpu", config.TypeOpenAI, "llama", 10, 0, 3), p.WorstCase("gpu", config.TypeOpenAI, "llama", 10, DefaultMaxOutput, 3); a <= 0 || a != b {
		t.Errorf("self-hosted without max_tokens: %d, want %d (DefaultMaxOutput per choice)", a, b)
	}
	// A product beyond int64 saturates instead of wrapping to a small or
	// negative reservation.
	if got := p.WorstCase("oa", config.TypeOpenAI, "gpt-4o", 1000, 1<<60, 1<<10); got != math.MaxInt64 {
		t.Errorf("2^60 tokens × 2^10 choices: %d, want the saturated maximum", got)
	}
	if got := p.WorstCase("oa", config.TypeOpenAI, "no-such-model", 1000, 0, 1); got != 0 {
		t.Errorf("unpriced model: %d, want 0", got)
	}
}
