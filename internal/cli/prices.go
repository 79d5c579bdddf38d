package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/meter"
)

// priceCatalogue returns the embedded catalogue and, when cfgPath is set,
// that config's price overrides applied, with a map from configured
// provider names to their types (for --provider on overrides).
func priceCatalogue(e *env, cfgPath string) (*meter.Catalogue, map[string]string, error) {
	c, err := meter.Embedded()
	if err != nil {
		return nil, nil, err
	}
	types := map[string]string{}
	if cfgPath == "" {
		return c, types, nil
	}
	cfg, err := loadConfig(e, cfgPath)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range cfg.Providers {
		types[p.Name] = p.Type
	}
	return c.WithOverrides(meter.OverridesFromConfig(cfg.Models)...), types, nil
}

// perMillion formats a per-token price as exact dollars per million
// tokens: p picodollars per token × 1e6 = p×1000 nanodollars.
func perMillion(p meter.Picos) string { return dollars(int64(p) * 1000) }

func attribution(c *meter.Catalogue) string {
	return c.Attribution + "."
}

func pricesCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prices",
		Short: "Show the embedded price catalogue (USD per million tokens)",
		Long: `Show the price catalogue compiled into the binary, in USD per million tokens.
With --config, the config's models[].price overrides are listed first and win
for their provider. Price data derived from BerriAI/litellm
model_prices_and_context_window.json (MIT).`,
	}
	cmd.AddCommand(pricesListCmd(e), pricesShowCmd(e))
	return cmd
}

func pricesListCmd(e *env) *cobra.Command {
	var cfgPath, provider, format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every catalogue entry, overrides first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkChoice("format", format, "table", "csv", "json"); err != nil {
				return err
			}
			c, types, err := priceCatalogue(e, cfgPath)
			if err != nil {
				return err
			}
			entries := c.List()
			if provider != "" {
				kept := entries[:0:0]
				for _, en := range entries {
					if en.Provider == provider || (en.Source == "config" && types[en.Provider] == provider) {
						kept = append(kept, en)
					}
				}
				if len(kept) == 0 {
					return fmt.Errorf("prices: no entries for provider %q (the catalogue has %s)", provider, strings.Join(catalogueProviders(entries), ", "))
				}
				entries = kept
			}
			return writePrices(e, c, entries, format, false)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfgPath, "config", "c", "", "apply this config's price overrides")
	f.StringVar(&provider, "provider", "", "only this provider type (openai, anthropic, gemini, azure_openai, bedrock, vertex, mistral) or configured provider name")
	f.StringVar(&format, "format", "table", "table, csv or json")
	return cmd
}

func pricesShowCmd(e *env) *cobra.Command {
	var cfgPath, format string
	cmd := &cobra.Command{
		Use:   "show MODEL",
		Short: "Show every catalogue entry for a model",
		Long: `Show every catalogue entry (and config override) for MODEL. The name is
matched like the gateway matches it: case-insensitively, without an "openai/",
"anthropic/", "gemini/", "mistral/" or "models/" prefix, exactly first and then
without a dated or version suffix (gpt-4o-2024-08-06 finds gpt-4o when the
catalogue has no such dated entry; claude-x@20250929 finds claude-x). The
vendor's own entry comes first, then the clouds' (Azure OpenAI, Bedrock,
Vertex, Mistral), with their regional entries (eu/gpt-4o-2024-08-06 is Azure's
EU Data Zone price, eu-central-1/MODEL Bedrock's Frankfurt price).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkChoice("format", format, "table", "csv", "json"); err != nil {
				return err
			}
			c, _, err := priceCatalogue(e, cfgPath)
			if err != nil {
				return err
			}
			entries := c.Find(args[0])
			if len(entries) == 0 {
				return fmt.Errorf("prices: no catalogue entry for %q (see fulcrum prices list)", args[0])
			}
			return writePrices(e, c, entries, format, true)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfgPath, "config", "c", "", "apply this config's price overrides")
	f.StringVar(&format, "format", "table", "table, csv or json")
	return cmd
}

func catalogueProviders(entries []meter.Entry) []string {
	seen := map[string]bool{}
	var out []string
	for _, en := range entries {
		if en.Source != "config" && !seen[en.Provider] {
			seen[en.Provider] = true
			out = append(out, en.Provider)
		}
	}
	sort.Strings(out)
	return out
}

// writePrices writes entries as a table (detailed, one block per entry,
// when detail), CSV or JSON. A table ends with the attribution line; CSV
// keeps stdout a plain CSV file and puts the attribution on stderr.
func writePrices(e *env, c *meter.Catalogue, entries []meter.Entry, format string, detail bool) error {
	switch format {
	case "csv":
		fmt.Fprintln(e.stderr, attribution(c))
		return writePricesCSV(e.stdout, entries)
	case "json":
		return writePricesJSON(e.stdout, c, entries)
	}
	var err error
	if detail {
		err = writePriceBlocks(e.stdout, entries)
	} else {
		err = meter.WriteTable(e.stdout, entries)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "\n%s\n", attribution(c))
	return err
}

func sourceText(en *meter.Entry) string {
	if en.Source == "config" {
		return "config override for provider " + en.Provider
	}
	return "catalogue snapshot " + en.Source
}

func writePriceBlocks(w io.Writer, entries []meter.Entry) error {
	for i := range entries {
		en := &entries[i]
		if i > 0 {
			fmt.Fprintln(w)
		}
		mode := ""
		if en.Mode != "" {
			mode = ", " + en.Mode
		}
		fmt.Fprintf(w, "%s (%s%s), %s\n", en.Model, en.Provider, mode, sourceText(en))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		row := func(name string, p meter.Picos) { fmt.Fprintf(tw, "  %s\t$%s / M tokens\n", name, perMillion(p)) }
		p := en.Price
		row("input", p.Input)
		row("output", p.Output)
		row("cache read", p.CacheRead)
		row("cache write", p.CacheWrite)
		row("reasoning", p.Reasoning)
		if p.Long != nil {
			row("input, prompt > 200K", p.Long.Input)
			row("output, prompt > 200K", p.Long.Output)
		}
		if p.MaxOutputTokens > 0 {
			// What a budget reserves for a request without max_tokens.
			fmt.Fprintf(tw, "  max output\t%d tokens\n", p.MaxOutputTokens)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

var priceCSVHead = []string{"provider", "model", "mode", "input_per_m", "output_per_m", "cache_read_per_m",
	"cache_write_per_m", "reasoning_per_m", "long_input_per_m", "long_output_per_m", "source"}

func writePricesCSV(w io.Writer, entries []meter.Entry) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(priceCSVHead)
	for _, en := range entries {
		p := en.Price
		li, lo := "", ""
		if p.Long != nil {
			li, lo = perMillion(p.Long.Input), perMillion(p.Long.Output)
		}
		_ = cw.Write([]string{en.Provider, en.Model, en.Mode, perMillion(p.Input), perMillion(p.Output),
			perMillion(p.CacheRead), perMillion(p.CacheWrite), perMillion(p.Reasoning), li, lo, en.Source})
	}
	cw.Flush()
	return cw.Error()
}

// priceJSON is a price in exact decimal dollars per million tokens.
type priceJSON struct {
	Input      string     `json:"input"`
	Output     string     `json:"output"`
	CacheRead  string     `json:"cache_read"`
	CacheWrite string     `json:"cache_write"`
	Reasoning  string     `json:"reasoning"`
	Long       *priceJSON `json:"above_200k,omitempty"`
}

func toPriceJSON(p meter.Price) priceJSON {
	j := priceJSON{Input: perMillion(p.Input), Output: perMillion(p.Output), CacheRead: perMillion(p.CacheRead),
		CacheWrite: perMillion(p.CacheWrite), Reasoning: perMillion(p.Reasoning)}
	if p.Long != nil {
		l := toPriceJSON(*p.Long)
		j.Long = &l
	}
	return j
}

func writePricesJSON(w io.Writer, c *meter.Catalogue, entries []meter.Entry) error {
	type entry struct {
		Provider string    `json:"provider"`
		Model    string    `json:"model"`
		Mode     string    `json:"mode,omitempty"`
		PerM     priceJSON `json:"usd_per_million_tokens"`
		Source   string    `json:"source"`
	}
	out := struct {
		Attribution string  `json:"attribution"`
		Snapshot    string  `json:"snapshot"`
		Entries     []entry `json:"entries"`
	}{Attribution: c.Attribution, Snapshot: c.Snapshot, Entries: make([]entry, 0, len(entries))}
	for _, en := range entries {
		out.Entries = append(out.Entries, entry{Provider: en.Provider, Model: en.Model, Mode: en.Mode, PerM: toPriceJSON(en.Price), Source: en.Source})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
