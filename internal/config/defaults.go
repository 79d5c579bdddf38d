package config

import (
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Provider types.
const (
	TypeOpenAI    = "openai"
	TypeAnthropic = "anthropic"
	TypeGemini    = "gemini"
	TypeOllama    = "ollama"
	TypeReplay    = "replay"
)

// Hosting values.
const (
	SelfHosted  = "self_hosted"
	Proprietary = "proprietary"
)

// DefaultListen is the embedded default listen address.
const DefaultListen = "127.0.0.1:8080"

// DefaultBaseURL returns the API root for a provider type.
func DefaultBaseURL(typ string) string {
	switch typ {
	case TypeOpenAI:
		return "https://api.openai.com/v1"
	case TypeAnthropic:
		return "https://api.anthropic.com/v1"
	case TypeGemini:
		return "https://generativelanguage.googleapis.com/v1beta"
	case TypeOllama:
		return "http://127.0.0.1:11434"
	}
	return ""
}

// ApplyDefaults fills unset fields. lookup reads the environment.
func (c *Config) ApplyDefaults(lookup func(string) (string, bool)) {
	defer c.applyHybridDefaults()
	env := func(k string) string { v, _ := lookup(k); return v }
	if c.Server.Listen == "" {
		c.Server.Listen = DefaultListen
	}
	if c.Server.MasterKey == "" {
		c.Server.MasterKey = env("FULCRUM_MASTER_KEY")
	}
	if c.Server.MetricsToken == "" {
		c.Server.MetricsToken = env("FULCRUM_METRICS_TOKEN")
	}
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = 20 << 20
	}
	if c.Server.ShutdownGrace == 0 {
		c.Server.ShutdownGrace = Duration(30 * time.Second)
	}
	if c.Server.ReadHeaderTimeout == 0 {
		c.Server.ReadHeaderTimeout = Duration(10 * time.Second)
	}
	c.Server.applyInputDefaults()
	if c.Storage.DataDir == "" {
		c.Storage.DataDir = env("FULCRUM_DATA_DIR")
		if c.Storage.DataDir == "" {
			c.Storage.DataDir = "fulcrum-data"
		}
	}
	if c.Storage.URL == "" {
		c.Storage.URL = "sqlite://" + filepath.Join(c.Storage.DataDir, "fulcrum.db")
	}
	if c.Logging.Level == "" {
		c.Logging.Level = "info"
	}
	if c.Logging.Format == "" {
		c.Logging.Format = "text"
	}
	for i := range c.Providers {
		p := &c.Providers[i]
		cloudDefaults(p)
		if p.BaseURL == "" {
			p.BaseURL = DefaultBaseURL(p.Type)
		}
		p.BaseURL = strings.TrimRight(p.BaseURL, "/")
		if p.Hosting == "" {
			switch p.Type {
			case TypeOllama, TypeReplay:
				p.Hosting = SelfHosted
			default:
				p.Hosting = Proprietary
			}
		}
		if p.Type == TypeAnthropic && p.APIVersion == "" {
			p.APIVersion = "2023-06-01"
		}
		if p.Cost != nil {
			if p.Cost.GPUs == 0 {
				p.Cost.GPUs = 1
			}
			if p.Cost.ReferenceModel == "" {
				p.Cost.ReferenceModel = "gpt-4o"
			}
		}
	}
	for i := range c.Models {
		m := &c.Models[i]
		if m.Upstream == "" {
			m.Upstream = m.Name
		}
		if m.Type == "" {
			m.Type = "chat"
		}
	}
	c.Policy.applyDefaults()
	c.Metering.applyDefaults()
	for i := range c.Routes {
		c.Routes[i].applyDefaults()
	}
}

// Defaults builds the embedded configuration used when no file is given:
// providers from OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY and
// OLLAMA_HOST, each with a list of well-known models.
func Defaults(lookup func(string) (string, bool)) *Config {
	env := func(k string) string { v, _ := lookup(k); return v }
	c := &Config{}
	add := func(p Provider, models ...string) {
		c.Providers = append(c.Providers, p)
		for _, m := range models {
			typ := "chat"
			if strings.Contains(m, "embedding") {
				typ = "embedding"
			}
			c.Models = append(c.Models, Model{Name: m, Provider: p.Name, Type: typ})
		}
	}
	if k := env("OPENAI_API_KEY"); k != "" {
		add(Provider{Name: "openai", Type: TypeOpenAI, APIKey: k, BaseURL: env("OPENAI_BASE_URL"), Region: "us"},
			"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5", "gpt-5-mini", "o3", "o4-mini",
			"text-embedding-3-small", "text-embedding-3-large")
	}
	if k := env("ANTHROPIC_API_KEY"); k != "" {
		add(Provider{Name: "anthropic", Type: TypeAnthropic, APIKey: k, BaseURL: env("ANTHROPIC_BASE_URL"), Region: "us"},
			"claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-sonnet-4-0", "claude-3-5-haiku-latest")
	}
	if k := env("GEMINI_API_KEY"); k != "" {
		add(Provider{Name: "gemini", Type: TypeGemini, APIKey: k, Region: "us"},
			"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-embedding-001")
	}
	if h := env("OLLAMA_HOST"); h != "" {
		// Ollama's models are discovered from /api/tags at start.
		add(Provider{Name: "ollama", Type: TypeOllama, BaseURL: ollamaURL(h)})
	}
	c.ApplyDefaults(lookup)
	return c
}

// ollamaURL accepts OLLAMA_HOST as Ollama itself does: "host:port",
// "host" or a full URL.
func ollamaURL(h string) string {
	if strings.Contains(h, "://") {
		return h
	}
	if _, _, err := net.SplitHostPort(h); err != nil {
		h = net.JoinHostPort(h, "11434")
	}
	return "http://" + h
}

// IsLoopback reports whether a listen address binds only loopback.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ProviderByName returns the named provider or nil.
func (c *Config) ProviderByName(name string) *Provider {
	i := slices.IndexFunc(c.Providers, func(p Provider) bool { return p.Name == name })
	if i < 0 {
		return nil
	}
	return &c.Providers[i]
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
