package config

import (
	"fmt"
	"strings"
)

// Validate checks the whole config and returns every error found, each
// prefixed with its field path, e.g. "providers[1].type".
func (c *Config) Validate() []error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, errorf(path, format, args...)) }

	if c.Server.MaxBodyBytes < 0 {
		add("server.max_body_bytes", "must be positive")
	}
	errs = append(errs, c.Server.validateInputs()...)
	errs = append(errs, c.Telemetry.validate("telemetry")...)
	errs = append(errs, c.Diagnostics.validate("diagnostics")...)
	if c.Server.MasterKey == "" && !IsLoopback(c.Server.Listen) {
		add("server.listen", "%q is not a loopback address: set FULCRUM_MASTER_KEY (or server.master_key) before listening on other interfaces", c.Server.Listen)
	}
	if !strings.HasPrefix(c.Storage.URL, "sqlite://") && !strings.HasPrefix(c.Storage.URL, "postgres://") && !strings.HasPrefix(c.Storage.URL, "postgresql://") {
		add("storage.url", "must start with sqlite:// or postgres://")
	}
	if c.Storage.Redis != "" && !strings.HasPrefix(c.Storage.Redis, "redis://") && !strings.HasPrefix(c.Storage.Redis, "rediss://") {
		add("storage.redis", "must start with redis:// or rediss://")
	}
	switch c.Logging.Level {
	case "debug", "info", "warn", "error":
	default:
		add("logging.level", "must be debug, info, warn or error, not %q", c.Logging.Level)
	}
	switch c.Logging.Format {
	case "text", "json":
	default:
		add("logging.format", "must be text or json, not %q", c.Logging.Format)
	}

	names := map[string]bool{}
	for i, p := range c.Providers {
		path := fmt.Sprintf("providers[%d]", i)
		if p.Name == "" {
			add(path+".name", "required")
		} else if names[p.Name] {
			add(path+".name", "duplicate provider %q", p.Name)
		}
		names[p.Name] = true
		switch p.Type {
		case TypeOpenAI, TypeAnthropic, TypeGemini, TypeOllama:
			if !validURL(p.BaseURL) {
				add(path+".base_url", "must be an http(s) URL, not %q", p.BaseURL)
			}
		case TypeReplay:
			if p.Replay == nil || p.Replay.File == "" {
				add(path+".replay.file", "required for a replay provider")
			}
		case TypeAzureOpenAI, TypeBedrock, TypeVertex, TypeMistral:
			validateCloud(path, &p, add)
		case "":
			add(path+".type", "required (openai, anthropic, gemini, ollama, replay, azure_openai, bedrock, vertex or mistral)")
		default:
			add(path+".type", "unknown provider type %q (want openai, anthropic, gemini, ollama, replay, azure_openai, bedrock, vertex or mistral)", p.Type)
		}
		if p.Hosting != SelfHosted && p.Hosting != Proprietary {
			add(path+".hosting", "must be self_hosted or proprietary, not %q", p.Hosting)
		}
		if r := p.Reasoning; r != nil {
			switch {
			case p.Type != TypeOpenAI && p.Type != TypeOllama:
				add(path+".reasoning", "only openai and ollama providers take reasoning settings; the others' APIs say what they support")
			case r.Replay != nil && p.Type != TypeOpenAI:
				add(path+".reasoning.replay", "only openai providers take it (reasoning_content is their field)")
			case r.Request == "" || r.Request == "none" || p.Type == TypeOpenAI && (r.Request == "reasoning_effort" || r.Request == "chat_template_kwargs") || p.Type == TypeOllama && r.Request == "think":
			case p.Type == TypeOpenAI:
				add(path+".reasoning.request", "must be reasoning_effort, chat_template_kwargs or none, not %q", r.Request)
			default:
				add(path+".reasoning.request", "must be think or none, not %q", r.Request)
			}
		}
		if p.Cost != nil {
			if p.Cost.GPUHourlyUSD < 0 || p.Cost.PerMillionUSD < 0 {
				add(path+".cost", "prices must not be negative")
			}
			if p.Cost.GPUs < 0 {
				add(path+".cost.gpus", "must be positive")
			}
		}
		for _, t := range []struct {
			name string
			d    Duration
		}{{"connect", p.Timeouts.Connect}, {"first_byte", p.Timeouts.FirstByte}, {"total", p.Timeouts.Total}} {
			if t.d < 0 {
				add(path+".timeouts."+t.name, "must not be negative")
			}
		}
	}

	models := map[string]bool{}
	for i, m := range c.Models {
		path := fmt.Sprintf("models[%d]", i)
		if m.Name == "" {
			add(path+".name", "required")
		} else if models[m.Name] {
			add(path+".name", "duplicate model %q", m.Name)
		}
		models[m.Name] = true
		if m.Provider == "" {
			add(path+".provider", "required")
		} else if !names[m.Provider] {
			add(path+".provider", "unknown provider %q", m.Provider)
		}
		if m.Type != "chat" && m.Type != "embedding" {
			add(path+".type", "must be chat or embedding, not %q", m.Type)
		}
		if m.Policy != "" && !c.Policy.Has(m.Policy) {
			add(path+".policy", "unknown policy %q", m.Policy)
		}
		if m.Price != nil && (m.Price.Input < 0 || m.Price.Output < 0 || m.Price.CacheRead < 0 || m.Price.CacheWrite < 0) {
			add(path+".price", "prices must not be negative")
		}
	}

	for i := range c.Routes {
		errs = append(errs, c.Routes[i].validate(fmt.Sprintf("routes[%d]", i), models)...)
		if rp := c.Routes[i].Policy; rp != "" && !c.Policy.Has(rp) {
			add(fmt.Sprintf("routes[%d].policy", i), "unknown policy %q", rp)
		}
		if models[c.Routes[i].Name] {
			add(fmt.Sprintf("routes[%d].name", i), "%q is also a model name", c.Routes[i].Name)
		}
	}
	errs = append(errs, c.Policy.validate("policy")...)
	errs = append(errs, c.Metering.validate("metering")...)
	errs = append(errs, c.validateHybrid(models)...)
	return errs
}
