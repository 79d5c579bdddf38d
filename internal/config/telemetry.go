package config

import (
	"net/url"
	"strings"
)

// Telemetry configures OpenTelemetry traces (docs/tracing.md). Tracing is
// off unless an OTLP endpoint is set here or in the standard
// OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// variables; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it
// off whatever this says.
type Telemetry struct {
	// OTLP is where spans are exported (OTLP over HTTP, protobuf).
	OTLP OTLP `yaml:"otlp"`
	// ServiceName is the service.name resource attribute. Default: the
	// OTEL_SERVICE_NAME variable, else "fulcrum".
	ServiceName string `yaml:"service_name"`
	// SampleRatio is the share of new traces recorded (0 < r <= 1); a
	// request that arrives with a traceparent follows its sampled flag.
	// Default: the OTEL_TRACES_SAMPLER variables, else 1 (every request).
	SampleRatio float64 `yaml:"sample_ratio"`
	// CaptureContent, when true, adds the prompt and completion to spans
	// (gen_ai.input.messages, gen_ai.output.messages) in the form that was
	// forwarded: redacted when policy redacts, and never for a request in
	// which policy found sensitive data it did not redact. Default false.
	CaptureContent bool `yaml:"capture_content"`
}

// OTLP is an OTLP/HTTP trace exporter's destination.
type OTLP struct {
	// Endpoint is the collector's base URL ("http://otel-collector:4318")
	// or its full traces URL (ending in /v1/traces). Default: the
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT
	// variable; none means tracing is off.
	Endpoint string `yaml:"endpoint"`
	// Headers are sent with every export (an API key for a hosted
	// backend: use ${ENV} for secrets). Default: the
	// OTEL_EXPORTER_OTLP_HEADERS variable.
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one export. Default 10s.
	Timeout Duration `yaml:"timeout"`
}

func (t *Telemetry) validate(path string) []error {
	var errs []error
	if e := t.OTLP.Endpoint; e != "" {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errorf(path+".otlp.endpoint", "must be an http:// or https:// URL, not %q", e))
		}
	}
	for k := range t.OTLP.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			errs = append(errs, errorf(path+".otlp.headers", "invalid header name %q", k))
		}
	}
	if t.SampleRatio < 0 || t.SampleRatio > 1 {
		errs = append(errs, errorf(path+".sample_ratio", "must be between 0 and 1, not %g", t.SampleRatio))
	}
	if t.OTLP.Timeout < 0 {
		errs = append(errs, errorf(path+".otlp.timeout", "must be positive"))
	}
	return errs
}
