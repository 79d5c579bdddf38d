package meter

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

//go:embed prices.json
var pricesJSON []byte

// Entry is one catalogue line.
type Entry struct {
	// Provider is the provider type: openai, anthropic, gemini,
	// azure_openai, bedrock, vertex or mistral; for an operator override,
	// the configured provider name.
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Mode is "chat", "responses" (served only by the Responses API) or
	// "embedding".
	Mode  string `json:"mode,omitempty"`
	Price Price  `json:"price"`
	// Source says where the price comes from: the catalogue snapshot date
	// or "config".
	Source string `json:"source"`
}

// Override is an operator's price for a model of a configured provider.
type Override struct {
	// Provider is the configured provider name (not its type).
	Provider string
	// Model is the upstream model name.
	Model string
	Price Price
}

type provModel struct{ provider, model string }

// Catalogue looks prices up. It is immutable and safe for concurrent use.
type Catalogue struct {
	// Attribution credits the price data.
	Attribution string
	// Snapshot is the date of the source data, "2026-07-24".
	Snapshot string

	entries   []Entry
	byKey     map[provModel]int // (type, model) -> entries index
	byModel   map[string]int    // model -> first entry, for lookups without a provider
	overrides map[provModel]Price
	// regions maps a configured provider name to the region prefix of its
	// regional catalogue entries ("eu-central-1" for Bedrock, "eu" for an
	// Azure Data Zone), tried before the unprefixed entry.
	regions map[string]string
}

// firstParty reports whether a provider type is a model vendor's own API;
// lookups without a provider prefer those entries to a cloud's resale.
func firstParty(typ string) bool {
	return typ == "openai" || typ == "anthropic" || typ == "gemini"
}

var (
	embedded     *Catalogue
	embeddedErr  error
	embeddedOnce sync.Once
)

// Embedded returns the catalogue compiled into the binary.
func Embedded() (*Catalogue, error) {
	embeddedOnce.Do(func() { embedded, embeddedErr = parseCatalogue(pricesJSON) })
	return embedded, embeddedErr
}

type rawEntry struct {
	P    string `json:"p"`
	M    string `json:"m"`
	Mode string `json:"mode"`
	In   *int64 `json:"in"`
	Out  *int64 `json:"out"`
	CR   *int64 `json:"cr"`
	CW   *int64 `json:"cw"`
	Rsn  *int64 `json:"rsn"`
	In2  *int64 `json:"in200"`
	Out2 *int64 `json:"out200"`
	CR2  *int64 `json:"cr200"`
	CW2  *int64 `json:"cw200"`
	MO   int64  `json:"mo"`
}

func parseCatalogue(b []byte) (*Catalogue, error) {
	var raw struct {
		Source   string     `json:"source"`
		Snapshot string     `json:"snapshot"`
		Models   []rawEntry `json:"models"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("meter: prices.json: %w", err)
	}
	c := &Catalogue{
		Attribution: raw.Source, Snapshot: raw.Snapshot,
		byKey: map[provModel]int{}, byModel: map[string]int{},
	}
	val := func(p *int64) Picos {
		if p == nil {
			return 0
		}
		return Picos(*p)
	}
	for _, r := range raw.Models {
		p := Price{Input: val(r.In), Output: val(r.Out), CacheRead: val(r.CR), CacheWrite: val(r.CW), Reasoning: val(r.Rsn)}
		p = p.filled(r.CR != nil, r.CW != nil, r.Rsn != nil)
		p.MaxOutputTokens = r.MO
		if r.In2 != nil {
			long := Price{Input: val(r.In2), Output: p.Output, CacheRead: p.CacheRead, CacheWrite: p.CacheWrite, Reasoning: p.Reasoning}
			if r.Out2 != nil {
				long.Output = val(r.Out2)
				if r.Rsn == nil {
					long.Reasoning = long.Output
				}
			}
			if r.CR2 != nil {
				long.CacheRead = val(r.CR2)
			}
			if r.CW2 != nil {
				long.CacheWrite = val(r.CW2)
			}
			p.Long = &long
		}
		k := provModel{r.P, strings.ToLower(r.M)}
		c.byKey[k] = len(c.entries)
		if i, ok := c.byModel[k.model]; !ok || firstParty(r.P) && !firstParty(c.entries[i].Provider) {
			c.byModel[k.model] = len(c.entries)
		}
		c.entries = append(c.entries, Entry{Provider: r.P, Model: r.M, Mode: r.Mode, Price: p, Source: raw.Snapshot})
	}
	return c, nil
}

// WithOverrides returns a copy of c in which the overrides win.
func (c *Catalogue) WithOverrides(ovs ...Override) *Catalogue {
	n := *c
	n.overrides = make(map[provModel]Price, len(c.overrides)+len(ovs))
	for k, v := range c.overrides {
		n.overrides[k] = v
	}
	for _, o := range ovs {
		n.overrides[provModel{o.Provider, strings.ToLower(o.Model)}] = o.Price
	}
	return &n
}

// WithRegions returns a copy of c in which the providers named in regions
// (configured provider name -> region prefix) price a model at its
// regional entry ("REGION/model") when the catalogue has one.
func (c *Catalogue) WithRegions(regions map[string]string) *Catalogue {
	n := *c
	n.regions = make(map[string]string, len(c.regions)+len(regions))
	for k, v := range c.regions {
		n.regions[k] = v
	}
	for k, v := range regions {
		n.regions[k] = strings.ToLower(v)
	}
	return &n
}

// PriceRegion is the region prefix of the catalogue's regional entries
// that applies to a configured provider, "" when none does: a Bedrock
// provider's AWS region (the catalogue lists in-region on-demand prices as
// "eu-central-1/MODEL"), and for an Azure OpenAI provider whose region is
// eu or us, that Data Zone ("eu/MODEL", Microsoft's Data Zone price, 10%
// above Global). Vertex and Mistral have no regional entries.
func PriceRegion(p *config.Provider) string {
	switch p.Type {
	case config.TypeBedrock:
		if p.AWS != nil {
			return p.AWS.Region
		}
	case config.TypeAzureOpenAI:
		r := strings.ToLower(p.Region)
		switch {
		case strings.HasPrefix(r, "eu"):
			return "eu"
		case strings.HasPrefix(r, "us"):
			return "us"
		}
	}
	return ""
}

// OverridesFromConfig turns models[].price (USD per million tokens) into
// overrides keyed by provider name and upstream model. Unset cache prices
// default to the input price.
func OverridesFromConfig(models []config.Model) []Override {
	var out []Override
	for _, m := range models {
		if m.Price == nil {
			continue
		}
		p := Price{
			Input:      PicosFromPerMillion(m.Price.Input),
			Output:     PicosFromPerMillion(m.Price.Output),
			CacheRead:  PicosFromPerMillion(m.Price.CacheRead),
			CacheWrite: PicosFromPerMillion(m.Price.CacheWrite),
		}
		p = p.filled(m.Price.CacheRead != 0, m.Price.CacheWrite != 0, false)
		upstream := m.Upstream
		if upstream == "" {
			upstream = m.Name
		}
		out = append(out, Override{Provider: m.Provider, Model: upstream, Price: p})
	}
	return out
}

// Resolve returns the price for a call to model on the provider named
// providerName of type providerType: an override for (providerName, model)
// first, then the catalogue entry for (providerType, model).
func (c *Catalogue) Resolve(providerName, providerType, model string) (Price, bool) {
	if p, ok := c.overrides[provModel{providerName, strings.ToLower(model)}]; ok {
		return p, true
	}
	return c.lookup(providerType, c.regions[providerName], model)
}

// Lookup finds the catalogue price of model for a provider type (openai,
// anthropic, gemini, azure_openai, bedrock, vertex, mistral; "" searches
// all, preferring the vendors' own APIs). The name is normalised: lower
// case, without a "openai/", "anthropic/", "gemini/", "mistral/" or
// "models/" prefix. An exact match wins; otherwise a dated or versioned
// suffix is dropped ("gpt-4o-2099-01-01" -> "gpt-4o", "claude-x-20990101"
// -> "claude-x", "-latest", "-001", Vertex's "@20990101"). When the type
// has no entry, a cloud type falls back to what it resells: a Bedrock
// cross-region inference profile ("eu.", "us.", "apac.", "global." …) to
// the model's on-demand id, azure_openai to openai, vertex to gemini and
// anthropic. Overrides are matched by provider name as well.
func (c *Catalogue) Lookup(provider, model string) (Price, bool) {
	return c.lookup(provider, "", model)
}

// lookup is Lookup trying "region/candidate" before each candidate.
func (c *Catalogue) lookup(provider, region, model string) (Price, bool) {
	m := normalise(model)
	if p, ok := c.overrides[provModel{provider, m}]; ok {
		return p, true
	}
	if p, ok := c.find(provider, region, m); ok {
		return p, true
	}
	switch provider {
	case config.TypeBedrock:
		if i := strings.IndexByte(m, '.'); i > 0 && bedrockGeo[m[:i]] {
			return c.find(provider, region, m[i+1:])
		}
	case config.TypeAzureOpenAI:
		return c.find(config.TypeOpenAI, "", m)
	case config.TypeVertex:
		if p, ok := c.find(config.TypeGemini, "", m); ok {
			return p, true
		}
		return c.find(config.TypeAnthropic, "", m)
	}
	return Price{}, false
}

// bedrockGeo are the geography prefixes of Bedrock's cross-region
// inference profile ids ("eu.anthropic.claude-…").
var bedrockGeo = map[string]bool{"us": true, "eu": true, "apac": true, "jp": true, "au": true, "ca": true, "global": true, "us-gov": true}

func (c *Catalogue) find(provider, region, m string) (Price, bool) {
	for cand := m; cand != ""; cand = dropSuffix(cand) {
		if provider == "" {
			if i, ok := c.byModel[cand]; ok {
				return c.entries[i].Price, true
			}
			continue
		}
		if region != "" {
			if i, ok := c.byKey[provModel{provider, region + "/" + cand}]; ok {
				return c.entries[i].Price, true
			}
		}
		if i, ok := c.byKey[provModel{provider, cand}]; ok {
			return c.entries[i].Price, true
		}
	}
	return Price{}, false
}

func normalise(model string) string {
	m := strings.ToLower(strings.TrimSpace(model))
	for _, p := range [...]string{"openai/", "anthropic/", "gemini/", "mistral/", "models/"} {
		m = strings.TrimPrefix(m, p)
	}
	return m
}

// dropSuffix removes one dated or version suffix, or returns "".
func dropSuffix(m string) string {
	if i := strings.LastIndexByte(m, '@'); i > 0 { // Vertex: claude-x@20250929, @default
		return m[:i]
	}
	i := strings.LastIndexByte(m, '-')
	if i <= 0 {
		return ""
	}
	last := m[i+1:]
	switch {
	case last == "latest":
		return m[:i]
	case len(last) == 8 && digits(last): // 20250929
		return m[:i]
	case len(last) == 3 && digits(last): // -001
		return m[:i]
	case len(last) == 2 && digits(last): // YYYY-MM-DD: drop all three parts
		rest := m[:i]
		j := strings.LastIndexByte(rest, '-')
		if j <= 0 || len(rest[j+1:]) != 2 || !digits(rest[j+1:]) {
			return ""
		}
		rest = rest[:j]
		k := strings.LastIndexByte(rest, '-')
		if k <= 0 || len(rest[k+1:]) != 4 || !digits(rest[k+1:]) {
			return ""
		}
		return rest[:k]
	}
	return ""
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// List returns every entry, overrides first, each group sorted by provider
// and model.
func (c *Catalogue) List() []Entry {
	out := make([]Entry, 0, len(c.overrides)+len(c.entries))
	for k, p := range c.overrides {
		out = append(out, Entry{Provider: k.provider, Model: k.model, Price: p, Source: "config"})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Model < out[j].Model
	})
	return append(out, c.entries...)
}

// Find returns the entries whose model matches model after normalisation
// (exact, then without a dated suffix), across providers and overrides,
// with the regional entries of the same model ("eu/gpt-4o-2024-08-06"):
// overrides first, then the vendors' own APIs, then the clouds.
func (c *Catalogue) Find(model string) []Entry {
	m := normalise(model)
	var out []Entry
	for cand := m; cand != "" && len(out) == 0; cand = dropSuffix(cand) {
		for _, e := range c.List() {
			if em := strings.ToLower(e.Model); em == cand || strings.HasSuffix(em, "/"+cand) {
				out = append(out, e)
			}
		}
	}
	rank := func(e Entry) int {
		switch {
		case e.Source == "config":
			return 0
		case firstParty(e.Provider):
			return 1
		}
		return 2
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// WriteTable writes entries as an aligned table of USD per million tokens.
func WriteTable(w io.Writer, entries []Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tMODEL\tMODE\tINPUT $/M\tOUTPUT $/M\tCACHE READ $/M\tCACHE WRITE $/M\tREASONING $/M\t>200K IN/OUT $/M\tSOURCE\t")
	for _, e := range entries {
		p := e.Price
		long := "-"
		if p.Long != nil {
			long = perM(p.Long.Input) + "/" + perM(p.Long.Output)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", e.Provider, e.Model, e.Mode,
			perM(p.Input), perM(p.Output), perM(p.CacheRead), perM(p.CacheWrite), perM(p.Reasoning), long, e.Source)
	}
	return tw.Flush()
}

// perM formats a per-token price in dollars per million tokens, exactly.
func perM(p Picos) string {
	// p picodollars per token × 1e6 tokens = p microdollars = p×1000 nanodollars.
	return Nanos(int64(p) * 1000).String()[1:]
}
