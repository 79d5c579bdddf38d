// Package config holds Fulcrum's configuration as plain structs: Load reads
// YAML with ${ENV} expansion, Validate names the field path of every error,
// and the result is treated as immutable (a reload swaps the whole value).
//
// Each field's comment is its documentation and says its default.
//
// This is a leaf package: it imports nothing internal.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration.
type Config struct {
	Server  Server  `yaml:"server"`
	Storage Storage `yaml:"storage"`
	Logging Logging `yaml:"logging"`
	// Providers are the upstreams. With no config file they come from the
	// environment (see Defaults).
	Providers []Provider `yaml:"providers"`
	// Models are the names clients send, each mapped to a provider and an
	// upstream model name. They are listed at /v1/models.
	Models []Model `yaml:"models"`
	// Routes are names clients send that pick among several models.
	Routes []Route `yaml:"routes"`
	// Policy decides what happens to requests carrying sensitive data.
	Policy Policy `yaml:"policy"`
	// Metering configures prices, keys, budgets and limits.
	Metering Metering `yaml:"metering"`
	// UI configures the dashboard under /ui.
	UI UI `yaml:"ui"`
	// Cache bounds the response cache (models and routes opt in).
	Cache Cache `yaml:"cache"`
	// ShadowSettings tune the shadow evaluation queue (models and routes
	// name their candidates).
	ShadowSettings ShadowSettings `yaml:"shadow"`
	// Telemetry configures OpenTelemetry tracing (off by default).
	Telemetry Telemetry `yaml:"telemetry"`
	// Diagnostics configures latency diagnostics (off by default).
	Diagnostics Diagnostics `yaml:"diagnostics"`
}

// UI configures the embedded dashboard. It is served whenever a master key
// is set (the key opens it); without one it answers 403.
type UI struct {
	// Disabled turns the dashboard off (404). Default false.
	Disabled bool `yaml:"disabled"`
	// AdviseProfile is an advise profile (docs/advise.md) whose report the
	// reports page shows. Default: none.
	AdviseProfile string `yaml:"advise_profile"`
	// ReportsDir holds `fulcrum eval --format json` reports to list on the
	// reports page. Default: none.
	ReportsDir string `yaml:"reports_dir"`
}

// Server configures the HTTP listener.
type Server struct {
	// Listen is the address to bind. Default "127.0.0.1:8080". Binding
	// anything but loopback requires a master key.
	Listen string `yaml:"listen"`
	// MasterKey authenticates clients and the admin API. Default: the
	// FULCRUM_MASTER_KEY environment variable; when empty, no key is
	// required and only loopback addresses may be bound.
	MasterKey string `yaml:"master_key"`
	// MetricsToken is a bearer token that may read /metrics besides the
	// master key, for a Prometheus scraper that must not hold the master
	// key. Default: the FULCRUM_METRICS_TOKEN environment variable. With a
	// master key or a metrics token set, /metrics needs one of them.
	MetricsToken string `yaml:"metrics_token"`
	// MaxBodyBytes limits request bodies. Default 20 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ShutdownGrace is how long in-flight requests and streams may run
	// after SIGTERM. Default 30s.
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// ReadHeaderTimeout bounds reading request headers. Default 10s.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// MaxHeaderBytes bounds a request's headers (431 in the client's
	// format past it). Default 64 KiB.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// BodyTimeout and MinBodyRate cut slow request bodies: after n bytes
	// a body must be complete by BodyTimeout + n / MinBodyRate from its
	// first read, else the request gets 408 and the connection closes.
	// Defaults 10s and 65536 bytes per second (a 20 MiB body may take up
	// to 330 s at that rate; a trickle of a few bytes is cut at 10 s).
	BodyTimeout Duration `yaml:"body_timeout"`
	MinBodyRate int64    `yaml:"min_body_rate"`
	// WriteStall cuts a client that stops reading its answer: a write to
	// it that makes no progress for this long fails and the request ends,
	// with its upstream call. Default 60s.
	WriteStall Duration `yaml:"write_stall"`
	// MaxInFlight bounds the /v1 requests served at once; past it a
	// request gets 503 overloaded_error with Retry-After: 1 at once,
	// instead of a goroutine and its body held in memory. Default 4096.
	MaxInFlight int64 `yaml:"max_in_flight"`
	// MaxBodyMemory bounds the bytes of request bodies held at once, all
	// /v1 requests together; a request whose body would go past it gets
	// 503 overloaded_error with Retry-After: 1. max_in_flight alone let
	// 4096 bodies of max_body_bytes be held (80 GiB). Default 1 GiB.
	MaxBodyMemory int64 `yaml:"max_body_memory"`
	// MaxMessages bounds the elements of a request's top-level
	// "messages", "input" or "contents" array, and of every other array in
	// the body but arrays of numbers (413 past it). Default 10000.
	MaxMessages int `yaml:"max_messages"`
	// MaxJSONDepth bounds how deeply a request body nests (400 past it).
	// Default 128.
	MaxJSONDepth int `yaml:"max_json_depth"`
	// MaxOutputTokens is the largest max_tokens (max_completion_tokens,
	// max_output_tokens, thinking.budget_tokens) accepted (400 past it),
	// checked before any arithmetic. Default 16777216.
	MaxOutputTokens int64 `yaml:"max_output_tokens"`
	// MaxFulcrumHeaderBytes bounds the x-fulcrum-* request headers
	// together, names and values (431 past it). Default 8 KiB.
	MaxFulcrumHeaderBytes int `yaml:"max_fulcrum_header_bytes"`
}

// Storage says where keys, usage and audit records live.
type Storage struct {
	// URL is "sqlite://PATH" or "postgres://...". Default
	// "sqlite://DATA_DIR/fulcrum.db".
	URL string `yaml:"url"`
	// DataDir holds the SQLite file and other local state. Default
	// $FULCRUM_DATA_DIR, else "./fulcrum-data".
	DataDir string `yaml:"data_dir"`
	// Redis, when set ("redis://host:6379/0"), shares budgets and rate
	// limits across replicas.
	Redis string `yaml:"redis"`
	// Responses keeps Responses API conversations answered through
	// translation (requests with store, the API's default), so that
	// previous_response_id and GET/DELETE /v1/responses/{id} work on every
	// provider; they are kept for metering.retention.conversations
	// (default 30d). Default true; false keeps none (previous_response_id
	// to a translated target is then a 400 that says so), but still
	// records which key made each response an upstream keeps
	// (pass-through), so that no other key can continue it.
	Responses *bool `yaml:"responses"`
}

// Logging configures structured logs.
type Logging struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is "text" or "json". Default text.
	Format string `yaml:"format"`
	// LogPrompts, when true, logs request and response bodies at debug
	// level (with detected sensitive values redacted). Default false.
	LogPrompts bool `yaml:"log_prompts"`
}

// Provider is one upstream.
type Provider struct {
	// Name identifies the provider in models, headers and records. Required.
	Name string `yaml:"name"`
	// Type is the adapter: openai (also every OpenAI-compatible server:
	// vLLM, llama.cpp, TGI, LM Studio), anthropic, gemini, ollama, replay,
	// azure_openai, bedrock, vertex, mistral.
	Type string `yaml:"type"`
	// BaseURL is the API root. Defaults: openai https://api.openai.com/v1,
	// anthropic https://api.anthropic.com/v1, gemini
	// https://generativelanguage.googleapis.com/v1beta, ollama
	// http://127.0.0.1:11434.
	BaseURL string `yaml:"base_url"`
	// APIKey authenticates to the upstream; write it as ${ENV_VAR}. It is
	// never logged or returned.
	APIKey string `yaml:"api_key"`
	// Hosting is self_hosted or proprietary. Default: proprietary for
	// openai, anthropic and gemini; self_hosted for ollama and replay.
	Hosting string `yaml:"hosting"`
	// Region is where the upstream processes data, e.g. "eu" or "us".
	Region string `yaml:"region"`
	// Retention is the upstream's data-retention term, e.g. "none", "30d".
	Retention string `yaml:"retention"`
	// Headers are extra headers sent on every upstream call.
	Headers map[string]string `yaml:"headers"`
	// Timeouts bound upstream calls.
	Timeouts Timeouts `yaml:"timeouts"`
	// APIVersion is sent as anthropic-version for anthropic providers
	// (default "2023-06-01") and as the api-version query for azure_openai
	// (default "2024-10-21").
	APIVersion string `yaml:"api_version"`
	// Azure, AWS, Vertex and Mistral hold the settings of the cloud types
	// (see clouds.go and docs/providers/).
	Azure   *Azure   `yaml:"azure"`
	AWS     *AWS     `yaml:"aws"`
	Vertex  *Vertex  `yaml:"vertex"`
	Mistral *Mistral `yaml:"mistral"`
	// Responses says whether an openai-type upstream serves the Responses
	// API (POST /responses), so /v1/responses requests are passed through
	// to it rather than translated to Chat Completions. Default: true for
	// api.openai.com, false for every other server. For azure_openai, true
	// passes them to the resource's Responses API (/openai/v1/responses;
	// see azure.responses_api_version); default false.
	Responses *bool `yaml:"responses"`
	// Reasoning says how an openai or ollama upstream takes and returns
	// reasoning (docs/providers/openai.md). Optional.
	Reasoning *ProviderReasoning `yaml:"reasoning"`
	// Completions says whether an openai-type upstream serves the legacy
	// Completions API (POST /completions), so /v1/completions requests
	// are passed through to it (fill-in-the-middle with suffix, echo,
	// logprobs, token prompts) rather than translated to chat. Default:
	// true for self-hosted providers (vLLM, llama.cpp and Ollama's /v1
	// serve it), false otherwise (api.openai.com serves it only for its
	// instruct models: declare a provider with completions: true for them).
	Completions *bool `yaml:"completions"`
	// Cost is the self-hosted cost model (GPU hours). Optional.
	Cost *SelfHostedCost `yaml:"cost"`
	// Replay configures a replay provider (type: replay).
	Replay *Replay `yaml:"replay"`
	// Capacity, when set, limits the requests in flight on this provider
	// and spills or queues the rest (see docs/hybrid.md). Default: none.
	Capacity *Capacity `yaml:"capacity"`
}

// ProviderReasoning configures reasoning for an upstream whose API does
// not say by itself what it supports (OpenAI-compatible servers, Ollama).
type ProviderReasoning struct {
	// Request is how the upstream is asked to reason:
	//   - "reasoning_effort" (default for openai): OpenAI's reasoning_effort
	//     (vLLM and llama.cpp accept it; gpt-oss honours it);
	//   - "chat_template_kwargs": chat_template_kwargs.enable_thinking, what
	//     vLLM and SGLang pass to Qwen3's and similar chat templates;
	//   - "think" (default for ollama): Ollama's think flag;
	//   - "none": the model cannot reason; hints (Anthropic adaptive
	//     thinking, output_config.effort) are dropped, explicit requests
	//     (a thinking budget, reasoning_effort) are refused with a 400.
	Request string `yaml:"request"`
	// ThinkTags reads <think>...</think> in answer text as
	// reasoning (models served without a reasoning parser). Default false.
	ThinkTags bool `yaml:"think_tags"`
	// Replay sends the reasoning of earlier assistant turns back as
	// reasoning_content when a request is translated (an Anthropic client
	// such as Claude Code, or a Responses client, replays its thinking).
	// DeepSeek's thinking mode answers 400 without it on turns that
	// called tools. openai providers only. Default: true for
	// api.deepseek.com, false otherwise (api.openai.com does not take the
	// field).
	Replay *bool `yaml:"replay"`
}

// Timeouts bound one upstream call. Zero takes the default.
type Timeouts struct {
	// Connect bounds TCP and TLS set-up. Default 10s.
	Connect Duration `yaml:"connect"`
	// FirstByte bounds the wait for the response headers. Default 60s.
	FirstByte Duration `yaml:"first_byte"`
	// Total bounds a non-streaming call. Default 10m.
	Total Duration `yaml:"total"`
}

// Replay configures a provider that answers from recorded outputs.
type Replay struct {
	// File is a CSV or JSON-lines file of recorded answers.
	File string `yaml:"file"`
	// Model selects the recording's model column (CSV) or model field (JSONL).
	Model string `yaml:"model"`
}

// Model maps a client-facing name to a provider's model.
type Model struct {
	// Name is what clients send as "model". Required.
	Name string `yaml:"name"`
	// Provider names a configured provider. Required.
	Provider string `yaml:"provider"`
	// Upstream is the provider's model name. Default: Name.
	Upstream string `yaml:"upstream"`
	// Type is "chat" or "embedding". Default chat.
	Type string `yaml:"type"`
	// Price overrides the catalogue price, in USD per million tokens.
	Price *Price `yaml:"price"`
	// Policy names the data policy for this model. It applies to every
	// request that may reach this model, directly or through a route, together
	// with the key's and the route's: class by class, the strictest wins.
	// Default: the default policy when no other policy is named.
	Policy string `yaml:"policy"`
	// Cache opts this model into the response cache. Default: not cached.
	Cache *CacheRule `yaml:"cache"`
	// Shadow sends a sample of this model's requests to candidates too.
	Shadow *Shadow `yaml:"shadow"`
}

// Price is a per-million-token price in USD.
type Price struct {
	Input      float64 `yaml:"input"`
	Output     float64 `yaml:"output"`
	CacheRead  float64 `yaml:"cache_read"`
	CacheWrite float64 `yaml:"cache_write"`
}

// SelfHostedCost turns GPU rent into a price per token.
type SelfHostedCost struct {
	// GPUHourlyUSD is the rent of one GPU per hour.
	GPUHourlyUSD float64 `yaml:"gpu_hourly_usd"`
	// GPUs is how many GPUs serve this provider. Default 1.
	GPUs int `yaml:"gpus"`
	// PerMillionUSD, when set, is a fixed price per million tokens used
	// instead of the measured throughput.
	PerMillionUSD float64 `yaml:"per_million_usd"`
	// ReferenceModel is the proprietary model whose price the same tokens
	// are compared with, for savings reports. Default gpt-4o.
	ReferenceModel string `yaml:"reference_model"`
	// SetupUSD is a one-off set-up cost (hardware, installation) that the
	// savings ledger reports months to pay back. Default 0.
	SetupUSD float64 `yaml:"setup_usd"`
}

// Duration is a time.Duration written as "30s" or "1m30s" in YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML accepts Go duration strings and plain seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	if v, err := time.ParseDuration(s); err == nil {
		*d = Duration(v)
		return nil
	}
	var secs float64
	if _, err := fmt.Sscanf(s, "%g", &secs); err == nil && fmt.Sprint(secs) == strings.TrimSpace(s) {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	return fmt.Errorf("line %d: invalid duration %q (want e.g. \"30s\")", n.Line, s)
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Load reads, expands and validates a config file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b, os.LookupEnv)
	var verr *ValidationError
	if err != nil && !errors.As(err, &verr) {
		// A value that does not decode names its line; the file too, as
		// validation errors do.
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, err
}

// Parse decodes YAML, expanding ${VAR} and ${VAR:-default} in string
// values with lookup, applies defaults and validates.
func Parse(b []byte, lookup func(string) (string, bool)) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var missing []string
	expandNode(&root, lookup, &missing)
	var c Config
	if len(root.Content) > 0 {
		// Re-encode the expanded tree and decode strictly, so unknown
		// fields are errors that carry their line number.
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(&root); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(&buf)
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	c.ApplyDefaults(lookup)
	errs := c.Validate()
	for _, m := range missing {
		errs = append(errs, fmt.Errorf("%s: environment variable is not set", m))
	}
	if len(errs) > 0 {
		return &c, &ValidationError{Errs: errs}
	}
	return &c, nil
}

// ValidationError lists every problem found, each naming its field path.
type ValidationError struct{ Errs []error }

func (v *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("config: invalid:")
	for _, e := range v.Errs {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandNode replaces ${VAR} in scalar values (not keys). A reference to an
// unset variable without a default is reported in missing, as "${VAR}".
func expandNode(n *yaml.Node, lookup func(string) (string, bool), missing *[]string) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v, ok := lookup(m[1]); ok && v != "" {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			*missing = append(*missing, "${"+m[1]+"}")
			return ""
		})
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			n.Tag = "" // let the decoder re-resolve the expanded value's type
		}
		return
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			continue
		}
		expandNode(c, lookup, missing)
	}
}

// errorf builds a field-path error.
func errorf(path, format string, args ...any) error {
	return fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
}

// ErrNoProviders is returned by Validate's callers when nothing is configured.
var ErrNoProviders = errors.New("no providers configured")
