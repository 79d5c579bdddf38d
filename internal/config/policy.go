package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Policy configures data-sovereignty decisions: which detectors scan each
// request and what happens to a request that carries sensitive data. See
// docs/sovereignty.md.
//
// With no policy section, one policy named "default" applies: every built-in
// detector runs, detected sensitive data keeps the request on self-hosted
// providers (self_hosted_only), private IP addresses (class ip_private)
// included; loopback, unspecified and documentation addresses are not
// detected at all.
type Policy struct {
	// Disabled turns scanning off entirely. Classes a client declares with
	// the x-fulcrum-data-class header still apply. Default false.
	Disabled bool `yaml:"disabled"`
	// Default names the policy used when a model names none. Default
	// "default".
	Default string `yaml:"default"`
	// PhoneRegions are the ISO 3166 regions whose national phone formats
	// (numbers written without a +country prefix) are recognised.
	// International numbers (+CC ...) are recognised for every country.
	// Default [US, GB, DE, FR].
	PhoneRegions []string `yaml:"phone_regions"`
	// CustomDetectors add operator-defined patterns and keyword lists, each
	// reporting its own data class. Default none; at most 48.
	CustomDetectors []CustomDetector `yaml:"custom_detectors"`
	// Policies are the named policies. Default: one policy named "default"
	// as described on Policy.
	Policies []DataPolicy `yaml:"policies"`
}

// CustomDetector is an operator-defined detector. Exactly one of Pattern
// and Keywords is set.
type CustomDetector struct {
	// Class is the data class reported, e.g. "employee_id". Lower case
	// letters, digits and underscores. It may name a built-in class (for
	// example national_id for another country's identifier). Required.
	Class string `yaml:"class"`
	// Pattern is a Go regular expression (RE2 syntax). Each match is one
	// value. Patterns run over every text of every request, so prefer ones
	// that start with a literal (EMP-[0-9]{6}): Go's regexp engine skips
	// ahead to the literal quickly.
	Pattern string `yaml:"pattern"`
	// Keywords are words or phrases matched case-insensitively on word
	// boundaries, e.g. project code names.
	Keywords []string `yaml:"keywords"`
}

// DataPolicy is one named policy.
type DataPolicy struct {
	// Name identifies the policy; models refer to it (models[].policy).
	// Required.
	Name string `yaml:"name"`
	// Detect lists the detectors that run: email, phone, payment_card,
	// iban, national_id, ip_address (reports ip_address and ip_private),
	// secret, medical_id, and the classes of custom detectors. Default:
	// every built-in and every custom detector.
	Detect []string `yaml:"detect"`
	// OnSensitive is the action for a detected or declared class that
	// Classes does not name: self_hosted_only, redact, block or allow.
	// Default self_hosted_only.
	OnSensitive string `yaml:"on_sensitive"`
	// Classes override the action (and optionally add requirements) per
	// class. A value is an action ("block") or a mapping ({action: redact,
	// regions: [eu]}). Class names may be built-in, custom, or names
	// clients declare (phi, pci). When several classes are present, the
	// strictest action wins: block > self_hosted_only > redact > allow.
	// Default: none.
	Classes map[string]ClassRule `yaml:"classes"`
	// Require constrains where a request carrying any sensitive class may
	// go, in addition to the action. A class rule's own regions or
	// retention replace these for that class. Default: no constraint.
	Require Requirements `yaml:"require"`
}

// ClassRule is the policy for one data class.
type ClassRule struct {
	// Action is self_hosted_only, redact, block or allow. Default: the
	// policy's on_sensitive.
	Action string `yaml:"action"`
	// Regions, when set, are the provider regions (providers[].region) a
	// request carrying this class may be sent to.
	Regions []string `yaml:"regions"`
	// Retention, when set, are the provider retention terms
	// (providers[].retention) a request carrying this class may be sent to.
	Retention []string `yaml:"retention"`
}

// UnmarshalYAML accepts a bare action ("block") or a mapping.
func (r *ClassRule) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		r.Action = n.Value
		return nil
	}
	type plain ClassRule
	return n.Decode((*plain)(r))
}

// Requirements constrain the providers a sensitive request may reach.
type Requirements struct {
	// Regions, when set, lists the allowed provider regions, e.g. [eu].
	// A provider with no region configured never satisfies it.
	Regions []string `yaml:"regions"`
	// Retention, when set, lists the allowed retention terms, e.g. [none].
	Retention []string `yaml:"retention"`
}

// Policy actions.
const (
	ActionAllow          = "allow"
	ActionRedact         = "redact"
	ActionSelfHostedOnly = "self_hosted_only"
	ActionBlock          = "block"
)

// BuiltinDetectors are the detector names a policy's detect list accepts
// besides custom classes.
var BuiltinDetectors = []string{"email", "phone", "payment_card", "iban", "national_id", "ip_address", "secret", "medical_id"}

// DefaultPolicyName is the name of the built-in default policy.
const DefaultPolicyName = "default"

// MaxCustomDetectors bounds policy.custom_detectors.
const MaxCustomDetectors = 48

// Has reports whether a policy with this name is configured, so the
// models[].policy references can be checked.
func (p *Policy) Has(name string) bool {
	for i := range p.Policies {
		if p.Policies[i].Name == name {
			return true
		}
	}
	return false
}

func (p *Policy) applyDefaults() {
	if p.Default == "" {
		p.Default = DefaultPolicyName
	}
	if p.PhoneRegions == nil {
		p.PhoneRegions = []string{"US", "GB", "DE", "FR"}
	}
	if len(p.Policies) == 0 {
		p.Policies = []DataPolicy{{Name: p.Default}}
	}
	for i := range p.Policies {
		if p.Policies[i].OnSensitive == "" {
			p.Policies[i].OnSensitive = ActionSelfHostedOnly
		}
	}
}

var className = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

func validAction(a string) bool {
	switch a {
	case ActionAllow, ActionRedact, ActionSelfHostedOnly, ActionBlock:
		return true
	}
	return false
}

func (p *Policy) validate(path string) []error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, errorf(path, format, args...)) }

	for i, r := range p.PhoneRegions {
		if len(r) != 2 || strings.ToUpper(r) != r {
			add(fmt.Sprintf("%s.phone_regions[%d]", path, i), "must be a two-letter upper-case region code such as US, not %q", r)
		}
	}
	if len(p.CustomDetectors) > MaxCustomDetectors {
		add(path+".custom_detectors", "at most %d custom detectors, not %d", MaxCustomDetectors, len(p.CustomDetectors))
	}
	custom := map[string]bool{}
	for i, d := range p.CustomDetectors {
		dp := fmt.Sprintf("%s.custom_detectors[%d]", path, i)
		if !className.MatchString(d.Class) {
			add(dp+".class", "must be lower-case letters, digits and underscores starting with a letter, not %q", d.Class)
		}
		custom[d.Class] = true
		switch {
		case d.Pattern != "" && len(d.Keywords) > 0:
			add(dp, "set pattern or keywords, not both")
		case d.Pattern != "":
			if re, err := regexp.Compile(d.Pattern); err != nil {
				add(dp+".pattern", "%v", err)
			} else if re.MatchString("") {
				add(dp+".pattern", "must not match the empty string")
			}
		case len(d.Keywords) > 0:
			for j, k := range d.Keywords {
				if strings.TrimSpace(k) == "" {
					add(fmt.Sprintf("%s.keywords[%d]", dp, j), "must not be empty")
				}
			}
		default:
			add(dp, "pattern or keywords required")
		}
	}

	names := map[string]bool{}
	for i, dp := range p.Policies {
		pp := fmt.Sprintf("%s.policies[%d]", path, i)
		if dp.Name == "" {
			add(pp+".name", "required")
		} else if names[dp.Name] {
			add(pp+".name", "duplicate policy %q", dp.Name)
		}
		names[dp.Name] = true
		for j, d := range dp.Detect {
			if !custom[d] && !isBuiltinDetector(d) {
				add(fmt.Sprintf("%s.detect[%d]", pp, j), "unknown detector %q (want one of %s, or a custom detector's class)", d, strings.Join(BuiltinDetectors, ", "))
			}
		}
		if !validAction(dp.OnSensitive) {
			add(pp+".on_sensitive", "must be self_hosted_only, redact, block or allow, not %q", dp.OnSensitive)
		}
		for _, c := range slices.Sorted(maps.Keys(dp.Classes)) {
			r := dp.Classes[c]
			cp := pp + ".classes." + c
			if !className.MatchString(c) {
				add(cp, "class names are lower-case letters, digits and underscores starting with a letter")
			}
			if r.Action != "" && !validAction(r.Action) {
				add(cp+".action", "must be self_hosted_only, redact, block or allow, not %q", r.Action)
			}
			errs = append(errs, validateTerms(cp+".regions", r.Regions)...)
			errs = append(errs, validateTerms(cp+".retention", r.Retention)...)
		}
		errs = append(errs, validateTerms(pp+".require.regions", dp.Require.Regions)...)
		errs = append(errs, validateTerms(pp+".require.retention", dp.Require.Retention)...)
	}
	if len(p.Policies) > 0 && !names[p.Default] {
		add(path+".default", "no policy named %q", p.Default)
	}
	return errs
}

func isBuiltinDetector(d string) bool {
	for _, b := range BuiltinDetectors {
		if b == d {
			return true
		}
	}
	return false
}

func validateTerms(path string, terms []string) []error {
	var errs []error
	for i, t := range terms {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, errorf(fmt.Sprintf("%s[%d]", path, i), "must not be empty"))
		}
	}
	return errs
}
