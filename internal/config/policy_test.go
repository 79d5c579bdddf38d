package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPolicyParse(t *testing.T) {
	src := `
providers: [{ name: box, type: ollama }]
policy:
  phone_regions: [US, GB]
  custom_detectors:
    - { class: employee_id, pattern: "EMP-[0-9]{6}" }
    - { class: project_codename, keywords: [bluebird, nightjar] }
  policies:
    - name: default
      classes:
        secret: block
        phi: { action: self_hosted_only, regions: [eu] }
      require: { retention: [none] }
    - name: lenient
      detect: [email, employee_id]
      on_sensitive: redact
`
	c, err := Parse([]byte(src), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Policy
	if p.Default != "default" || p.Policies[0].OnSensitive != ActionSelfHostedOnly || p.Policies[1].OnSensitive != ActionRedact {
		t.Errorf("defaults: %+v", p)
	}
	want := map[string]ClassRule{"secret": {Action: "block"}, "phi": {Action: "self_hosted_only", Regions: []string{"eu"}}}
	if diff := cmp.Diff(want, p.Policies[0].Classes); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if !p.Has("lenient") || p.Has("nope") {
		t.Error("Has")
	}
}

func TestPolicyDefaults(t *testing.T) {
	c, err := Parse([]byte("providers: [{ name: box, type: ollama }]\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Policy
	if diff := cmp.Diff([]string{"US", "GB", "DE", "FR"}, p.PhoneRegions); diff != "" {
		t.Error(diff)
	}
	// ip_private is sensitive by default: private networks describe an
	// organisation's inside; loopback is not detected at all.
	if len(p.Policies) != 1 || p.Policies[0].Name != "default" || p.Policies[0].OnSensitive != ActionSelfHostedOnly ||
		len(p.Policies[0].Classes) != 0 {
		t.Errorf("built-in default policy: %+v", p.Policies)
	}
}

func TestPolicyValidate(t *testing.T) {
	src := `
providers: [{ name: box, type: ollama }]
policy:
  default: main
  phone_regions: [us]
  custom_detectors:
    - { class: Bad-Class, pattern: "(" }
    - { class: both, pattern: "x", keywords: [y] }
    - { class: empty }
    - { class: matches_empty, pattern: "a*" }
  policies:
    - name: default
      detect: [email, dna]
      on_sensitive: shred
      classes:
        pci: { action: nuke, regions: [""] }
    - name: default
`
	_, err := Parse([]byte(src), env(nil))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"policy.phone_regions[0]", "policy.custom_detectors[0].class", "policy.custom_detectors[0].pattern",
		"policy.custom_detectors[1]: set pattern or keywords, not both", "policy.custom_detectors[2]: pattern or keywords required",
		"policy.custom_detectors[3].pattern: must not match the empty string", "policy.policies[0].detect[1]",
		"policy.policies[0].on_sensitive", "policy.policies[0].classes.pci.action", "policy.policies[0].classes.pci.regions[0]",
		"policy.policies[1].name: duplicate", `policy.default: no policy named "main"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}
