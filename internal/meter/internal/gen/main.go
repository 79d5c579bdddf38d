// Command gen builds internal/meter/prices.json, the compact price catalogue
// embedded in the binary, from a dated LiteLLM price snapshot.
//
// It keeps only the providers Fulcrum has adapters for, under Fulcrum's
// provider type (openai, anthropic, gemini; azure_openai from LiteLLM's
// "azure", bedrock from "bedrock" and "bedrock_converse", vertex from its
// Gemini, Claude and embedding families, mistral), the chat, responses and embedding modes,
// and the price fields the cost function uses, converted to exact integer
// picodollars per token. Regional entries keep their region as a model
// prefix ("eu-central-1/anthropic.claude-v2:1" for Bedrock, "eu/gpt-4o-…"
// for Azure Data Zone deployments); the catalogue tries them first for a
// provider configured in that region.
//
//	go generate ./internal/meter
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	in := flag.String("in", "", "LiteLLM model_prices_and_context_window JSON snapshot")
	out := flag.String("out", "prices.json", "output file")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// fields maps the snapshot's field names to the compact names.
var fields = []struct{ from, to string }{
	{"input_cost_per_token", "in"},
	{"output_cost_per_token", "out"},
	{"cache_read_input_token_cost", "cr"},
	{"cache_creation_input_token_cost", "cw"},
	{"output_cost_per_reasoning_token", "rsn"},
	{"input_cost_per_token_above_200k_tokens", "in200"},
	{"output_cost_per_token_above_200k_tokens", "out200"},
	{"cache_read_input_token_cost_above_200k_tokens", "cr200"},
	{"cache_creation_input_token_cost_above_200k_tokens", "cw200"},
}

func run(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	// The snapshot's "sample_spec" entry has the same shape, so one map type fits.
	var all map[string]json.RawMessage
	if err := dec.Decode(&all); err != nil {
		return err
	}
	raw := map[string]map[string]json.RawMessage{}
	for k, v := range all {
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) == nil {
			raw[k] = m
		}
	}
	type entry map[string]any
	// "gemini/x" and "x" can both be gemini entries: keep one, the prefixed
	// (canonical) key, else the smaller key, so the output is deterministic.
	chosen := map[string]string{} // provider/model -> snapshot key
	byKey := map[string]entry{}
	for key, m := range raw {
		var provider, mode string
		json.Unmarshal(m["litellm_provider"], &provider)
		json.Unmarshal(m["mode"], &mode)
		typ, prefix := fulcrumType(provider)
		if typ == "" {
			continue
		}
		if mode != "chat" && mode != "embedding" && mode != "responses" {
			continue
		}
		model := strings.TrimPrefix(key, prefix)
		if typ == "bedrock" && strings.HasPrefix(model, "invoke/") {
			continue // the InvokeModel route's duplicate of a Converse id
		}
		if typ == "vertex" && strings.Contains(model, "/") {
			continue // a partner publisher's model (xai/…): not reachable
		}
		e := entry{"p": typ, "m": model, "mode": mode}
		for _, f := range fields {
			v, ok := m[f.from]
			if !ok {
				continue
			}
			picos, err := toPicos(string(v))
			if err != nil {
				return fmt.Errorf("%s.%s: %w", key, f.from, err)
			}
			e[f.to] = picos
		}
		if _, ok := e["in"]; !ok {
			continue // priced per image, second or character: not a token price
		}
		// The output limit bounds what a request without max_tokens can be
		// billed for (the budgets' worst case).
		var mo json.Number
		if json.Unmarshal(m["max_output_tokens"], &mo) == nil {
			if n, err := mo.Int64(); err == nil && n > 0 {
				e["mo"] = n
			}
		}
		id := typ + "/" + model
		if prev, ok := chosen[id]; ok {
			prefixed := strings.HasPrefix(key, prefix)
			prevPrefixed := strings.HasPrefix(prev, prefix)
			if prevPrefixed && !prefixed || prevPrefixed == prefixed && prev < key {
				continue
			}
		}
		chosen[id] = key
		byKey[id] = e
	}
	var entries []entry
	for _, e := range byKey {
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a["p"] != b["p"] {
			return a["p"].(string) < b["p"].(string)
		}
		return a["m"].(string) < b["m"].(string)
	})
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "{\"source\":%q,\n\"snapshot\":%q,\n\"unit\":\"picodollars per token (USD x 1e12)\",\n\"models\":[\n",
		"Price data derived from BerriAI/litellm model_prices_and_context_window.json (MIT), snapshot 2026-07-24",
		snapshotDate(in))
	for i, e := range entries {
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		buf.Write(line)
		if i < len(entries)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// fulcrumType maps a LiteLLM provider to the Fulcrum provider type whose
// adapter calls it, and the key prefix LiteLLM writes before that
// provider's model ids; "" for providers Fulcrum has no adapter for.
func fulcrumType(litellm string) (typ, prefix string) {
	switch {
	case litellm == "openai", litellm == "anthropic", litellm == "gemini", litellm == "mistral":
		return litellm, litellm + "/"
	case litellm == "azure":
		return "azure_openai", "azure/"
	case litellm == "bedrock", litellm == "bedrock_converse":
		return "bedrock", "bedrock/"
	case litellm == "vertex_ai", litellm == "vertex_ai-language-models",
		litellm == "vertex_ai-anthropic_models", litellm == "vertex_ai-embedding-models":
		// Only the publishers the vertex adapter calls (google, anthropic);
		// Vertex's partner models (Mistral, Llama, …) are not reachable.
		return "vertex", "vertex_ai/"
	}
	return "", ""
}

// toPicos converts a decimal USD-per-token number to integer picodollars,
// exactly (big.Rat), failing when it is not a whole number of picodollars.
func toPicos(s string) (int64, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("not a number: %s", s)
	}
	r.Mul(r, big.NewRat(1e12, 1))
	if !r.IsInt() {
		return 0, fmt.Errorf("%s USD is not a whole number of picodollars", s)
	}
	return r.Num().Int64(), nil
}

// snapshotDate takes the date from a file name like
// litellm_model_prices_2026-07-24.json.
func snapshotDate(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), ".json")
	if i := strings.LastIndexByte(base, '_'); i >= 0 {
		return base[i+1:]
	}
	return base
}
