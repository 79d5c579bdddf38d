package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const priceAttribution = "Price data derived from BerriAI/litellm model_prices_and_context_window.json (MIT)"

// overrideConfig writes a config that prices gpt-4 on an Azure deployment.
func overrideConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prices.yaml")
	cfg := `providers:
  - name: azure-eu
    type: openai
    base_url: https://example.invalid/v1
models:
  - name: gpt-4
    provider: azure-eu
    price: { input: 2.5, output: 8.125, cache_read: 1.25 }
`
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPricesShow(t *testing.T) {
	cfg := overrideConfig(t)
	tests := []struct {
		name string
		args []string
		want []string // lines of stdout, in order
	}{
		{
			name: "gpt-4 at $30 / $60 per M",
			args: []string{"gpt-4"},
			want: []string{
				"gpt-4 (openai, chat), catalogue snapshot 2026-07-24",
				"  input        $30.00 / M tokens",
				"  output       $60.00 / M tokens",
				"  cache read   $30.00 / M tokens",
				"  cache write  $30.00 / M tokens",
				"  reasoning    $60.00 / M tokens",
				"  max output   4096 tokens",
				"",
				// Azure OpenAI resells it at the same price.
				"gpt-4 (azure_openai, chat), catalogue snapshot 2026-07-24",
				"  input        $30.00 / M tokens",
			},
		},
		{
			name: "normalised name",
			args: []string{"OpenAI/GPT-4"},
			want: []string{"gpt-4 (openai, chat), catalogue snapshot 2026-07-24"},
		},
		{
			name: "config override first",
			args: []string{"gpt-4", "--config", cfg},
			want: []string{
				"gpt-4 (azure-eu), config override for provider azure-eu",
				"  input        $2.50 / M tokens",
				"  output       $8.125 / M tokens",
				"  cache read   $1.25 / M tokens",
				"  cache write  $2.50 / M tokens",
				"  reasoning    $8.125 / M tokens",
				"",
				"gpt-4 (openai, chat), catalogue snapshot 2026-07-24",
				"  input        $30.00 / M tokens",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := opRun(t, append([]string{"prices", "show"}, tt.args...)...)
			if err != nil {
				t.Fatalf("prices show: %v\n%s", err, stderr)
			}
			lines := strings.Split(out, "\n")
			if len(lines) < len(tt.want) {
				t.Fatalf("got\n%s", out)
			}
			if diff := cmp.Diff(tt.want, lines[:len(tt.want)]); diff != "" {
				t.Errorf("prices show (-want +got):\n%s", diff)
			}
			if !strings.Contains(out, priceAttribution) {
				t.Errorf("no attribution in\n%s", out)
			}
		})
	}
}

func TestPricesShowLongContext(t *testing.T) {
	out, _, err := opRun(t, "prices", "show", "gemini-2.5-pro")
	if err != nil {
		t.Fatalf("prices show gemini-2.5-pro: %v", err)
	}
	if !strings.Contains(out, "input, prompt > 200K") {
		t.Errorf("gemini-2.5-pro has a long-context tier; got\n%s", out)
	}
}

func TestPricesList(t *testing.T) {
	cfg := overrideConfig(t)
	t.Run("csv by provider", func(t *testing.T) {
		out, stderr, err := opRun(t, "prices", "list", "--provider", "anthropic", "--format", "csv")
		if err != nil {
			t.Fatal(err)
		}
		rows := parseCSV(t, out)
		if diff := cmp.Diff(priceCSVHead, rows[0]); diff != "" {
			t.Errorf("header (-want +got):\n%s", diff)
		}
		if len(rows) < 5 {
			t.Fatalf("only %d anthropic rows", len(rows)-1)
		}
		for _, r := range rows[1:] {
			if r[0] != "anthropic" || r[10] != "2026-07-24" {
				t.Errorf("row %q: want provider anthropic, source 2026-07-24", r)
			}
		}
		if !strings.Contains(stderr, priceAttribution) {
			t.Errorf("CSV: attribution not on stderr: %q", stderr)
		}
	})
	t.Run("json with overrides", func(t *testing.T) {
		out, _, err := opRun(t, "prices", "list", "--config", cfg, "--provider", "openai", "--format", "json")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Attribution, Snapshot string
			Entries               []struct {
				Provider, Model, Source string
				PerM                    struct{ Input, Output string } `json:"usd_per_million_tokens"`
			}
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("malformed JSON: %v", err)
		}
		if !strings.HasPrefix(got.Attribution, priceAttribution) || got.Snapshot != "2026-07-24" {
			t.Errorf("attribution %q, snapshot %q", got.Attribution, got.Snapshot)
		}
		// The override (provider azure-eu, of type openai) comes first.
		first := got.Entries[0]
		if first.Provider != "azure-eu" || first.Source != "config" || first.PerM.Input != "2.50" || first.PerM.Output != "8.125" {
			t.Errorf("first entry = %+v, want the azure-eu override", first)
		}
		found := false
		for _, e := range got.Entries[1:] {
			if e.Provider != "openai" {
				t.Errorf("entry %+v: --provider openai", e)
			}
			if e.Model == "gpt-4" {
				found = e.PerM.Input == "30.00" && e.PerM.Output == "60.00"
			}
		}
		if !found {
			t.Error("no openai gpt-4 at 30.00/60.00")
		}
	})
	t.Run("table", func(t *testing.T) {
		out, _, err := opRun(t, "prices", "list")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out, "PROVIDER") || !strings.HasSuffix(out, priceAttribution+", snapshot 2026-07-24.\n") {
			t.Errorf("table starts %q, ends %q", out[:min(len(out), 40)], out[max(0, len(out)-120):])
		}
	})
}

func TestPricesErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown model", []string{"show", "no-such-model"}, `no catalogue entry for "no-such-model"`},
		{"unknown provider", []string{"list", "--provider", "cohere"}, "anthropic, azure_openai, bedrock, gemini, mistral, openai, vertex"},
		{"bad format", []string{"list", "--format", "yaml"}, "--format"},
		{"show needs a model", []string{"show"}, "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := opRun(t, append([]string{"prices"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
