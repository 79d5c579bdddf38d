package policy

import (
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// TestQuietTexts: a well-known text is taken as clean without a scan only
// where its scan finds nothing, policy by policy: a custom keyword that is
// also a key name is still found wherever it is written.
func TestQuietTexts(t *testing.T) {
	e, err := New(config.Policy{
		CustomDetectors: []config.CustomDetector{{Class: "codename", Keywords: []string{"content"}}},
		Policies: []config.DataPolicy{
			{Name: "default"},
			{Name: "cards-only", Detect: []string{"payment_card"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	def, cards := e.byName["default"], e.byName["cards-only"]
	if !def.quiet["model"] || !def.quiet["role"] || !def.quiet["system"] {
		t.Errorf("default policy: model, role and system should be quiet: %v", def.quiet)
	}
	if def.quiet["content"] {
		t.Error(`default policy: "content" is a custom keyword, yet quiet`)
	}
	if !cards.quiet["content"] {
		t.Error(`cards-only policy: "content" should be quiet (the keyword detector is not on)`)
	}
	// Every quiet text really scans clean, and every other one finds
	// something.
	for _, p := range []*compiled{def, cards, e.policies([]string{"default", "cards-only"})} {
		for _, w := range wellKnownTexts {
			ev := &evaluator{e: e, p: &compiled{name: p.name, mask: p.mask, deflt: p.deflt, classes: p.classes}}
			ev.scan(w)
			clean := ev.nc == 0 && len(ev.fixed) == 0 && len(ev.taken) == 0
			if clean != p.quiet[w] {
				t.Errorf("policy %s: %q scans clean %v, quiet %v", p.name, w, clean, p.quiet[w])
			}
		}
	}
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hello"}]}`)
	d, err := e.EvaluateBody(Input{Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Classes) != 1 || d.Classes[0].Class != "codename" {
		t.Errorf(`the key "content" (a custom keyword) found %v, want codename`, d.Classes)
	}
}
