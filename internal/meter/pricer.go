package meter

import (
	"fmt"
	"math"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Pricer is the one home of pricing: the catalogue with the config's
// overrides, the GPU-hour model of self-hosted providers that configure
// one, the worst-case reservation a budget holds before a call, and the
// token estimator for answers that report no usage. The gateway prices
// every upstream attempt with it before recording it. Safe for concurrent
// use.
type Pricer struct {
	cat        *Catalogue
	selfHosted map[string]*SelfHosted // by provider name
}

// NewPricer builds the pricer of cfg.
func NewPricer(cfg *config.Config) (*Pricer, error) {
	cat, err := Embedded()
	if err != nil {
		return nil, fmt.Errorf("price catalogue: %w", err)
	}
	cat = cat.WithOverrides(OverridesFromConfig(cfg.Models)...)
	regions := map[string]string{}
	for i := range cfg.Providers {
		if r := PriceRegion(&cfg.Providers[i]); r != "" {
			regions[cfg.Providers[i].Name] = r
		}
	}
	cat = cat.WithRegions(regions)
	p := &Pricer{cat: cat, selfHosted: map[string]*SelfHosted{}}
	for _, pc := range cfg.Providers {
		if pc.Cost == nil {
			continue
		}
		var ref *Price
		for _, typ := range []string{config.TypeOpenAI, config.TypeAnthropic, config.TypeGemini} {
			if rp, ok := cat.Lookup(typ, pc.Cost.ReferenceModel); ok {
				ref = &rp
				break
			}
		}
		p.selfHosted[pc.Name] = NewSelfHosted(*pc.Cost, ref, SelfHostedOptions{
			Window:             cfg.Metering.SelfHosted.Window.D(),
			MinTokensPerSecond: cfg.Metering.SelfHosted.MinTokensPerSecond,
		})
	}
	return p, nil
}

// Catalogue returns the catalogue with the config's overrides.
func (p *Pricer) Catalogue() *Catalogue { return p.cat }

// SelfHostedModel returns a provider's GPU-hour model, nil when it has none.
func (p *Pricer) SelfHostedModel(provider string) *SelfHosted { return p.selfHosted[provider] }

// Price prices usage on a provider's upstream model; reference is, for a
// self-hosted provider, what the same usage would have cost on its
// reference model. A self-hosted provider's throughput measurement counts
// the usage, so call it once per attempt. Unknown models cost 0.
func (p *Pricer) Price(provider, providerType, upstream string, u *llm.Usage) (cost, reference Nanos) {
	if u == nil {
		return 0, 0
	}
	if sh := p.selfHosted[provider]; sh != nil {
		return sh.Charge(*u)
	}
	price, ok := p.cat.Resolve(provider, providerType, upstream)
	if !ok {
		return 0, 0
	}
	return Cost(*u, price), 0
}

// DefaultMaxOutput is the output WorstCase assumes for a request without
// max_tokens on a model whose output limit the catalogue does not know
// (self-hosted models, operator overrides, unknown models).
const DefaultMaxOutput = 4096

// WorstCase is the most a call can cost on a provider's upstream model:
// its prompt at the input price plus its output at the output price (a
// self-hosted provider with a cost model at its current price), the
// output being maxTokens for each of its choices. maxTokens 0 means the
// request set none: the model's output limit from the catalogue, else
// DefaultMaxOutput. The product saturates (the gateway range-checks both
// before decoding, but a worst case must never wrap).
func (p *Pricer) WorstCase(provider, providerType, upstream string, promptTokens, maxTokens, choices int64) Nanos {
	choices = max(choices, 1)
	per := func(limit int64) int64 {
		switch {
		case maxTokens > 0:
			return maxTokens
		case limit > 0:
			return limit
		}
		return DefaultMaxOutput
	}
	out := func(limit int64) int64 {
		n := per(limit)
		if n > math.MaxInt64/choices {
			return math.MaxInt64
		}
		return n * choices
	}
	if sh := p.selfHosted[provider]; sh != nil {
		return Cost(llm.Usage{InputTokens: promptTokens, OutputTokens: out(0)}, Price{Output: sh.OutputPrice()})
	}
	price, ok := p.cat.Resolve(provider, providerType, upstream)
	if !ok {
		return 0
	}
	return Cost(llm.Usage{InputTokens: promptTokens, OutputTokens: out(price.MaxOutputTokens)}, price)
}

// Estimate counts tokens with a real tokenizer when a provider reports
// none: the request's text (tool calls included) and the output.
func (p *Pricer) Estimate(req *llm.ChatRequest, output string) *llm.Usage {
	texts := make([]string, 0, len(req.Messages)+1)
	for i := range req.Messages {
		m := &req.Messages[i]
		texts = append(texts, m.Text())
		for _, tc := range m.ToolCalls {
			texts = append(texts, tc.Name, tc.Arguments)
		}
	}
	return &llm.Usage{
		InputTokens:  EstimateTokens(req.Model, texts...),
		OutputTokens: EstimateTokens(req.Model, output),
		Estimated:    true,
	}
}
