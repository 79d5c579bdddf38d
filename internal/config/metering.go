package config

import (
	"path/filepath"
	"time"
)

// Metering configures usage recording and pricing (keys, budgets and rate
// limits add their fields here). See docs/metering.md.
//
//	metering:
//	  batch_size: 500
//	  flush_interval: 50ms
//	  journal_fsync: false
//	  self_hosted: { window: 15m, min_tokens_per_second: 1 }
type Metering struct {
	// Disabled turns usage recording off. Default false.
	Disabled bool `yaml:"disabled"`
	// JournalDir holds the local journal that makes recording survive a
	// killed process. Default DATA_DIR/journal.
	JournalDir string `yaml:"journal_dir"`
	// JournalFsync makes each response wait until its usage record is
	// fsynced (in groups), so records survive power loss too. Default
	// false: records survive the process being killed.
	JournalFsync bool `yaml:"journal_fsync"`
	// BatchSize is the most usage records committed in one transaction.
	// Default 500.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is how long a batch may wait to fill before it is
	// committed. Default 50ms.
	FlushInterval Duration `yaml:"flush_interval"`
	// SelfHosted tunes the throughput measurement behind self-hosted prices.
	SelfHosted SelfHostedMetering `yaml:"self_hosted"`
	// Retention says how long records are kept (retention.go).
	Retention Retention `yaml:"retention"`
	// Disk guards the data directory's free space (retention.go).
	Disk Disk `yaml:"disk"`

	// --- keys, budgets and rate limits: see limits.go and docs/keys.md ---

	// Limits configures budgets, rate limits and the key cache.
	Limits Limits `yaml:"limits"`
}

// SelfHostedMetering tunes how GPU rent becomes a price per token.
type SelfHostedMetering struct {
	// Window is how far back throughput is measured. Default 15m.
	Window Duration `yaml:"window"`
	// MinTokensPerSecond floors the measured throughput so that idle
	// periods give a high but finite price. Default 1.
	MinTokensPerSecond float64 `yaml:"min_tokens_per_second"`
}

func (m *Metering) applyDefaults() {
	if m.BatchSize == 0 {
		m.BatchSize = 500
	}
	if m.FlushInterval == 0 {
		m.FlushInterval = Duration(50 * time.Millisecond)
	}
	if m.SelfHosted.Window == 0 {
		m.SelfHosted.Window = Duration(15 * time.Minute)
	}
	if m.SelfHosted.MinTokensPerSecond == 0 {
		m.SelfHosted.MinTokensPerSecond = 1
	}
	m.Limits.applyDefaults()
	m.Retention.applyDefaults()
	m.Disk.applyDefaults()
}

func (m *Metering) validate(path string) []error {
	var errs []error
	if m.BatchSize < 1 || m.BatchSize > 5000 {
		errs = append(errs, errorf(path+".batch_size", "must be between 1 and 5000, not %d", m.BatchSize))
	}
	if m.FlushInterval.D() < time.Millisecond || m.FlushInterval.D() > 10*time.Second {
		errs = append(errs, errorf(path+".flush_interval", "must be between 1ms and 10s, not %s", m.FlushInterval.D()))
	}
	if m.SelfHosted.Window.D() < time.Minute {
		errs = append(errs, errorf(path+".self_hosted.window", "must be at least 1m, not %s", m.SelfHosted.Window.D()))
	}
	if m.SelfHosted.MinTokensPerSecond < 0 {
		errs = append(errs, errorf(path+".self_hosted.min_tokens_per_second", "must be positive"))
	}
	errs = append(errs, m.Limits.validate(path+".limits")...)
	errs = append(errs, m.Retention.validate(path+".retention")...)
	errs = append(errs, m.Limits.EndUserBudget.checkRetention(path+".limits.end_user_budget.period", m.Retention)...)
	errs = append(errs, m.Disk.validate(path+".disk")...)
	return errs
}

// JournalPath returns JournalDir, defaulting to DATA_DIR/journal.
func (c *Config) JournalPath() string {
	if c.Metering.JournalDir != "" {
		return c.Metering.JournalDir
	}
	return filepath.Join(c.Storage.DataDir, "journal")
}
