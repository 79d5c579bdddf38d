package config

// Diagnostics configures tools for finding latency problems in a running
// gateway (docs/diagnostics.md). All of them are off by default.
type Diagnostics struct {
	// FlightRecorder keeps the last few seconds of Go's execution trace
	// in memory and writes them to a file when a request is slow.
	FlightRecorder FlightRecorder `yaml:"flight_recorder"`
}

// FlightRecorder configures the execution-trace flight recorder
// (runtime/trace.FlightRecorder). A snapshot holds what the runtime
// traces: goroutine scheduling, system calls, garbage collection, stacks
// and the request path's names; never request or response bodies.
type FlightRecorder struct {
	// Enabled turns the recorder on. Default false: off, the request
	// path is not wrapped at all and nothing is traced.
	Enabled bool `yaml:"enabled"`
	// SlowRequest is the request duration (from the handler's start to
	// its return: the whole stream for streams, the upstream's time
	// included) above which a snapshot is written. Default 100ms. Set it
	// above the upstream's usual latency, or every request is "slow".
	SlowRequest Duration `yaml:"slow_request"`
	// Dir receives the snapshots (flight-<UTC time>-<ms>ms.trace).
	// Default DATA_DIR/flight.
	Dir string `yaml:"dir"`
	// MaxSnapshots is the most snapshots one process writes; after that
	// slow requests are only counted. Default 10.
	MaxSnapshots int `yaml:"max_snapshots"`
	// MinInterval is the least time between two snapshots, so that one
	// episode of slow requests gives one file. Default 10s.
	MinInterval Duration `yaml:"min_interval"`
	// Window is how much recent execution a snapshot should hold (the
	// recorder's minimum age). Default 2s.
	Window Duration `yaml:"window"`
	// MaxBytes bounds the memory the recorder keeps, which bounds a
	// snapshot's size (it wins over Window). Default 32 MiB.
	MaxBytes int64 `yaml:"max_bytes"`
}

func (d *Diagnostics) validate(path string) []error {
	var errs []error
	f := &d.FlightRecorder
	p := path + ".flight_recorder"
	if f.SlowRequest < 0 {
		errs = append(errs, errorf(p+".slow_request", "must be positive"))
	}
	if f.MaxSnapshots < 0 {
		errs = append(errs, errorf(p+".max_snapshots", "must be positive"))
	}
	if f.MinInterval < 0 {
		errs = append(errs, errorf(p+".min_interval", "must be positive"))
	}
	if f.Window < 0 {
		errs = append(errs, errorf(p+".window", "must be positive"))
	}
	if f.MaxBytes < 0 {
		errs = append(errs, errorf(p+".max_bytes", "must be positive"))
	}
	return errs
}
