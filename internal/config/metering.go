package config

import "strconv"

// Metering configures usage recording, prices, keys, budgets and limits.
// (Owned by the metering work; see docs/metering.md.)
type Metering struct {
	// Disabled turns usage recording off. Default false.
	Disabled bool `yaml:"disabled"`
}

func (m *Metering) applyDefaults() {}

func (m *Metering) validate(path string) []error { return nil }

func itoa(i int) string { return strconv.Itoa(i) }
