package e2e

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

// TestCompletionsEveryProvider drives POST /v1/completions with the
// official openai-go Completions client over every provider kind (each
// translated to chat) and a self-hosted OpenAI-compatible server (passed
// through, fill-in-the-middle included), plain and streamed, and checks
// that every call was recorded with its usage and priced.
func TestCompletionsEveryProvider(t *testing.T) {
	u := startUpstreams(t)
	cfg := u.config()
	cfg = strings.Replace(cfg, "providers:\n", "providers:\n  - { name: p-vllm, type: openai, base_url: "+jsonString(u.openai.URL)+", api_key: "+jsonString(fake.APIKey)+", hosting: self_hosted }\n", 1)
	cfg = strings.Replace(cfg, "models:\n", "models:\n  - { name: m-vllm, provider: p-vllm, upstream: qwen2.5-coder, price: { input: 1, output: 2 } }\n", 1)
	cfg = strings.Replace(cfg, "{ name: m-anthropic, provider: p-anthropic, upstream: claude-sonnet-4-5 }",
		"{ name: m-anthropic, provider: p-anthropic, upstream: claude-sonnet-4-5, price: { input: 3, output: 15 } }", 1)
	g := startGateway(t, cfg, "FULCRUM_MASTER_KEY="+masterKey)
	oc := openaiClient(g)
	const prompt = "// add two numbers\nfunction add(a, b) {"
	models := append([]struct{ model, provider string }{{"m-vllm", "p-vllm"}}, providerModels...)
	ids := map[string]string{} // completion id -> provider
	for _, pm := range models {
		t.Run(pm.provider+"/"+pm.model, func(t *testing.T) {
			ctx := ctxT(t)
			params := openai.CompletionNewParams{Model: openai.CompletionNewParamsModel(pm.model),
				Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)}, MaxTokens: openai.Int(50)}
			resp, err := oc.Completions.New(ctx, params)
			if err != nil {
				t.Fatalf("non-streaming: %v", err)
			}
			if len(resp.Choices) != 1 || resp.Choices[0].Text != fake.Reply(prompt) {
				t.Fatalf("choices = %+v", resp.Choices)
			}
			if resp.Usage.PromptTokens != fake.InputTokens || resp.Usage.CompletionTokens != fake.OutputTokens {
				t.Errorf("usage = %+v", resp.Usage)
			}
			ids[resp.ID] = pm.provider
			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			st := oc.Completions.NewStreaming(ctx, params)
			var text strings.Builder
			var usage openai.CompletionUsage
			for st.Next() {
				c := st.Current()
				for _, ch := range c.Choices {
					text.WriteString(ch.Text)
				}
				if c.Usage.TotalTokens > 0 {
					usage = c.Usage
				}
			}
			if err := st.Err(); err != nil {
				t.Fatalf("streaming: %v", err)
			}
			if text.String() != resp.Choices[0].Text || usage.PromptTokens != fake.InputTokens || usage.CompletionTokens != fake.OutputTokens {
				t.Errorf("streamed %q usage %+v", text.String(), usage)
			}

			// Fill-in-the-middle: served where a completions endpoint is,
			// refused by name everywhere else.
			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{}
			params.Suffix = openai.String("\n}")
			resp, err = oc.Completions.New(ctx, params)
			if pm.model == "m-vllm" {
				if err != nil || resp.Choices[0].Text != fake.FIMReply(prompt, "\n}") {
					t.Errorf("fim: %v %+v", err, resp)
				}
				return
			}
			var ae *openai.Error
			if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != "unsupported_parameter" || ae.Param != "suffix" {
				t.Errorf("fim on a translated target: %v", err)
			}
		})
	}
	if t.Failed() {
		return
	}
	if err := g.Stop(); err != nil {
		t.Fatal(err)
	}
	st, err := open.Store(context.Background(), "sqlite://"+filepath.Join(g.Dir, "fulcrum.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Usage(context.Background(), store.UsageFilter{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	byModel := map[string][]store.UsageRecord{}
	for _, r := range recs {
		byModel[r.Model] = append(byModel[r.Model], r)
	}
	for _, pm := range models {
		var ok, refused int
		for _, r := range byModel[pm.model] {
			switch {
			case r.Status == 200 && r.Provider == pm.provider && r.InputTokens == fake.InputTokens && r.OutputTokens == fake.OutputTokens:
				ok++
			case r.Status == 400 && r.ErrorCode == "unsupported_parameter" && r.CostNanos == 0:
				// The refused FIM call is recorded, unbilled, before any
				// upstream call.
				refused++
			default:
				t.Errorf("%s: record %+v", pm.model, r)
			}
		}
		// Plain, streamed, and (m-vllm) the FIM call served.
		if want := 2 + btoi(pm.model == "m-vllm"); ok != want || refused != 1-btoi(pm.model == "m-vllm") {
			t.Errorf("%s: %d served and %d refused records, want %d and %d", pm.model, ok, refused, want, 1-btoi(pm.model == "m-vllm"))
		}
	}
	// Priced at the configured prices: 12 input and 7 output tokens.
	for model, want := range map[string]int64{"m-vllm": 12*1000 + 7*2000, "m-anthropic": 12*3000 + 7*15000} {
		for _, r := range byModel[model] {
			if r.Status == 200 && r.CostNanos != want {
				t.Errorf("%s: cost %d nanodollars, want %d", model, r.CostNanos, want)
			}
		}
	}
	// The id the client saw names the request that was recorded.
	for id := range ids {
		if !strings.HasPrefix(id, "cmpl-") {
			t.Errorf("completion id %q", id)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCompletionsTokenPromptScanned: a prompt of token ids is scanned like
// embeddings' token inputs (tokens of an unknown tokenizer are the tokens
// kind, kept home by the default policy); a prompt carrying a sensitive
// value never reaches a proprietary target, and reaches a self-hosted one.
func TestCompletionsTokenPromptScanned(t *testing.T) {
	u := startUpstreams(t)
	local := fake.NewOpenAI()
	t.Cleanup(local.Close)
	g := startGateway(t, leakConfig(u, local), "FULCRUM_MASTER_KEY="+masterKey)
	resp, out := post(t, g, "/v1/completions", `{"model":"m-prop","prompt":[[1,2,3]]}`)
	if resp.StatusCode != 403 || !strings.Contains(string(out), "tokens") {
		t.Errorf("token prompt to a proprietary model: %d %s", resp.StatusCode, out)
	}
	resp, out = post(t, g, "/v1/completions", `{"model":"m-prop","prompt":"mail ann.leak@example.com"}`)
	if resp.StatusCode != 403 {
		t.Errorf("sensitive prompt to a proprietary model: %d %s", resp.StatusCode, out)
	}
	resp, out = post(t, g, "/v1/completions", `{"model":"r-ok","prompt":[[1,2,3]],"suffix":"ann.leak@example.com"}`)
	if resp.StatusCode != 200 || !strings.Contains(string(out), "text_completion") || resp.Header.Get("X-Fulcrum-Provider") != "local" {
		t.Errorf("to a route with a self-hosted target: %d %s", resp.StatusCode, out)
	}
	if n := len(u.openai.Log.All()) + len(u.anthropic.Log.All()); n != 0 {
		t.Errorf("%d requests reached a proprietary fake", n)
	}
}
