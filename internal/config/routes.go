package config

// Route is a name clients send as "model" that picks among several models.
// (Owned by the routing work; see docs/routing.md.)
type Route struct {
	// Name is what clients send as "model". Required.
	Name string `yaml:"name"`
	// Strategy is fallback, balance, cascade or router.
	Strategy string `yaml:"strategy"`
	// Targets are model names, in order for fallback and cascade.
	Targets []Target `yaml:"targets"`
}

// Target is one model of a route.
type Target struct {
	Model  string  `yaml:"model"`
	Weight float64 `yaml:"weight"`
}

func (r *Route) applyDefaults() {}

func (r *Route) validate(path string, models map[string]bool) []error {
	var errs []error
	if r.Name == "" {
		errs = append(errs, errorf(path+".name", "required"))
	}
	for i, t := range r.Targets {
		if !models[t.Model] {
			errs = append(errs, errorf(path+".targets["+itoa(i)+"].model", "unknown model %q", t.Model))
		}
	}
	return errs
}
