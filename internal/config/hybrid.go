package config

import (
	"fmt"
	"time"
)

// Cache configures the exact-match response cache. Nothing is cached
// unless a model or route opts in with its own cache: block.
type Cache struct {
	// MaxBytes bounds the memory the cached answers take (approximately:
	// their text, tool calls and a fixed overhead per entry). The least
	// recently used entries are evicted first. Default 64 MiB.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxEntryBytes is the largest single answer kept. Default 1 MiB.
	MaxEntryBytes int64 `yaml:"max_entry_bytes"`
}

// CacheRule opts a model or route into the response cache.
type CacheRule struct {
	// TTL is how long an answer is served from the cache. Required.
	TTL Duration `yaml:"ttl"`
	// Scope says who shares entries: "policy" (every caller whose policy
	// verdict, policy name and permitted targets are the same), "team" or
	// "key" (additionally per team or per virtual key). Default policy.
	Scope string `yaml:"scope"`
}

// Cache scopes.
const (
	CacheScopePolicy = "policy"
	CacheScopeTeam   = "team"
	CacheScopeKey    = "key"
)

// Capacity bounds how much a (self-hosted) provider is given at once. When
// it is saturated, requests that policy allows elsewhere spill to the next
// permitted target of their route; requests that may only go to this kind
// of provider wait in a bounded queue.
type Capacity struct {
	// MaxConcurrency is the most requests in flight at once on this
	// provider (0 = no static limit).
	MaxConcurrency int `yaml:"max_concurrency"`
	// MetricsURL, when set, is a Prometheus endpoint of the serving engine
	// (vLLM: http://host:8000/metrics) polled every MetricsInterval; the
	// provider counts as saturated while its waiting queue
	// (vllm:num_requests_waiting, or MetricsGauge) is above MaxWaiting.
	MetricsURL string `yaml:"metrics_url"`
	// MetricsGauge is the gauge read from MetricsURL. Default
	// "vllm:num_requests_waiting".
	MetricsGauge string `yaml:"metrics_gauge"`
	// MetricsInterval is how often MetricsURL is read. Default 2s.
	MetricsInterval Duration `yaml:"metrics_interval"`
	// MaxWaiting is the waiting-queue depth above which the provider is
	// saturated. Default 0 (any request waiting in the engine).
	MaxWaiting int `yaml:"max_waiting"`
	// QueueSize bounds how many requests wait for a slot when nothing else
	// is permitted. Default 64.
	QueueSize int `yaml:"queue_size"`
	// QueueTimeout is how long such a request waits before it is answered
	// 503 with Retry-After. Default 10s.
	QueueTimeout Duration `yaml:"queue_timeout"`
}

// Shadow names candidates that sampled requests are also sent to, off the
// request path, to compare their answers with the live one.
type Shadow struct {
	// Candidates are model names. Each is called only when the request's
	// policy verdict permits its provider, with the same redaction.
	Candidates []string `yaml:"candidates"`
	// SampleRate is the share of matching requests shadowed, 0..1.
	SampleRate float64 `yaml:"sample_rate"`
	// Keys, Teams and DataClasses, when set, restrict sampling to requests
	// from those keys or teams, or carrying one of those classes ("none"
	// matches a request with no class).
	Keys        []string `yaml:"keys"`
	Teams       []string `yaml:"teams"`
	DataClasses []string `yaml:"data_classes"`
	// Judge, when set, is a model asked to grade the candidate's answer
	// against the live one. It too is called only when the verdict permits.
	Judge string `yaml:"judge"`
	// Compare is how the candidate's answer is checked against the live
	// one with the eval assertions: "numeric" (the same number, as eval's
	// numeric assertion with the live answer's number as the value),
	// "equals" (the same text, ignoring case and surrounding space),
	// "json" (valid JSON whenever the live answer is) or "auto" (json when
	// the live answer is JSON, else numeric when it holds a number, else
	// equals). Default auto.
	Compare string `yaml:"compare"`
	// RecordPrompts keeps, with each comparison, the request's last user
	// message as policy cleared it, so that `fulcrum shadow export
	// --format route-train` can write router training labels. Never for a
	// request carrying a data class. Default false: no text is stored.
	RecordPrompts bool `yaml:"record_prompts"`
}

// Shadow comparison methods.
const (
	CompareAuto    = "auto"
	CompareNumeric = "numeric"
	CompareEquals  = "equals"
	CompareJSON    = "json"
)

// ShadowSettings tune the shadow evaluation queue.
type ShadowSettings struct {
	// QueueSize bounds the shadow calls waiting to run; when it is full a
	// sampled request is dropped (and counted), never waited for. Default 256.
	QueueSize int `yaml:"queue_size"`
	// Workers is how many shadow calls run at once. Default 4.
	Workers int `yaml:"workers"`
	// Timeout bounds one shadow call. Default 2m.
	Timeout Duration `yaml:"timeout"`
}

func (c *Cache) applyDefaults() {
	if c.MaxBytes == 0 {
		c.MaxBytes = 64 << 20
	}
	if c.MaxEntryBytes == 0 {
		c.MaxEntryBytes = 1 << 20
	}
}

func (s *ShadowSettings) applyDefaults() {
	if s.QueueSize == 0 {
		s.QueueSize = 256
	}
	if s.Workers == 0 {
		s.Workers = 4
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(2 * time.Minute)
	}
}

// ApplyDefaults fills a capacity's zero fields.
func (c *Capacity) ApplyDefaults() {
	if c.MetricsGauge == "" {
		c.MetricsGauge = "vllm:num_requests_waiting"
	}
	if c.MetricsInterval == 0 {
		c.MetricsInterval = Duration(2 * time.Second)
	}
	if c.QueueSize == 0 {
		c.QueueSize = 64
	}
	if c.QueueTimeout == 0 {
		c.QueueTimeout = Duration(10 * time.Second)
	}
}

func (c *Config) applyHybridDefaults() {
	c.Cache.applyDefaults()
	c.ShadowSettings.applyDefaults()
	for i := range c.Providers {
		if cp := c.Providers[i].Capacity; cp != nil {
			cp.ApplyDefaults()
		}
	}
}

func (r *CacheRule) validate(path string) []error {
	var errs []error
	if r.TTL <= 0 {
		errs = append(errs, errorf(path+".ttl", "required and positive (e.g. \"10m\")"))
	}
	switch r.Scope {
	case "", CacheScopePolicy, CacheScopeTeam, CacheScopeKey:
	default:
		errs = append(errs, errorf(path+".scope", "must be policy, team or key, not %q", r.Scope))
	}
	return errs
}

func (s *Shadow) validate(path string, models map[string]bool) []error {
	var errs []error
	if len(s.Candidates) == 0 {
		errs = append(errs, errorf(path+".candidates", "required"))
	}
	for i, m := range s.Candidates {
		if !models[m] {
			errs = append(errs, errorf(fmt.Sprintf("%s.candidates[%d]", path, i), "unknown model %q", m))
		}
	}
	if s.SampleRate <= 0 || s.SampleRate > 1 {
		errs = append(errs, errorf(path+".sample_rate", "must be in (0, 1]"))
	}
	if s.Judge != "" && !models[s.Judge] {
		errs = append(errs, errorf(path+".judge", "unknown model %q", s.Judge))
	}
	switch s.Compare {
	case "", CompareAuto, CompareNumeric, CompareEquals, CompareJSON:
	default:
		errs = append(errs, errorf(path+".compare", "must be auto, numeric, equals or json, not %q", s.Compare))
	}
	for i, k := range s.Keys {
		if k == "" {
			errs = append(errs, errorf(fmt.Sprintf("%s.keys[%d]", path, i), "must not be empty"))
		}
	}
	for i, t := range s.Teams {
		if t == "" {
			errs = append(errs, errorf(fmt.Sprintf("%s.teams[%d]", path, i), "must not be empty"))
		}
	}
	for i, d := range s.DataClasses {
		if d == "" {
			errs = append(errs, errorf(fmt.Sprintf("%s.data_classes[%d]", path, i), "must not be empty"))
		}
	}
	return errs
}

// validateHybrid checks the cache, capacity and shadow settings.
func (c *Config) validateHybrid(models map[string]bool) []error {
	var errs []error
	if c.Cache.MaxBytes < 0 || c.Cache.MaxEntryBytes < 0 {
		errs = append(errs, errorf("cache", "sizes must not be negative"))
	}
	if c.ShadowSettings.QueueSize < 0 || c.ShadowSettings.Workers < 0 || c.ShadowSettings.Timeout < 0 {
		errs = append(errs, errorf("shadow", "queue_size, workers and timeout must not be negative"))
	}
	for i, p := range c.Providers {
		path := fmt.Sprintf("providers[%d]", i)
		if cp := p.Capacity; cp != nil {
			if cp.MaxConcurrency < 0 || cp.MaxWaiting < 0 || cp.QueueSize < 0 || cp.QueueTimeout < 0 || cp.MetricsInterval < 0 {
				errs = append(errs, errorf(path+".capacity", "values must not be negative"))
			}
			if cp.MaxConcurrency == 0 && cp.MetricsURL == "" {
				errs = append(errs, errorf(path+".capacity", "set max_concurrency or metrics_url"))
			}
			if cp.MetricsURL != "" && !validURL(cp.MetricsURL) {
				errs = append(errs, errorf(path+".capacity.metrics_url", "must be an http(s) URL, not %q", cp.MetricsURL))
			}
		}
		if p.Cost != nil && p.Cost.SetupUSD < 0 {
			errs = append(errs, errorf(path+".cost.setup_usd", "must not be negative"))
		}
	}
	for i, m := range c.Models {
		path := fmt.Sprintf("models[%d]", i)
		if m.Cache != nil {
			errs = append(errs, m.Cache.validate(path+".cache")...)
		}
		if m.Shadow != nil {
			errs = append(errs, m.Shadow.validate(path+".shadow", models)...)
		}
	}
	for i, r := range c.Routes {
		path := fmt.Sprintf("routes[%d]", i)
		if r.Cache != nil {
			errs = append(errs, r.Cache.validate(path+".cache")...)
		}
		if r.Shadow != nil {
			errs = append(errs, r.Shadow.validate(path+".shadow", models)...)
		}
	}
	return errs
}

// CacheRuleFor returns the cache rule of a model or route name, or nil.
func (c *Config) CacheRuleFor(name string) *CacheRule {
	for i := range c.Routes {
		if c.Routes[i].Name == name {
			return c.Routes[i].Cache
		}
	}
	for i := range c.Models {
		if c.Models[i].Name == name {
			return c.Models[i].Cache
		}
	}
	return nil
}

// ShadowFor returns the shadow settings of a model or route name, or nil.
func (c *Config) ShadowFor(name string) *Shadow {
	for i := range c.Routes {
		if c.Routes[i].Name == name {
			return c.Routes[i].Shadow
		}
	}
	for i := range c.Models {
		if c.Models[i].Name == name {
			return c.Models[i].Shadow
		}
	}
	return nil
}
