package config

// Policy configures data-sovereignty decisions. (Owned by the data
// sovereignty work; see docs/sovereignty.md.)
type Policy struct {
	// Disabled turns scanning off entirely. Default false.
	Disabled bool `yaml:"disabled"`
}

func (p *Policy) applyDefaults() {}

func (p *Policy) validate(path string) []error { return nil }
