package policy

import (
	"errors"
	"net/http"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/upstream"
)

// TestPermitMinting: a permit is minted only for a target the clearance
// permits, and passes Check only for the very *Info it was minted for.
func TestPermitMinting(t *testing.T) {
	e := testEngine(t)
	self := &upstream.Info{Name: "gpu", Hosting: upstream.SelfHosted, Region: "eu"}
	api := &upstream.Info{Name: "openai", Hosting: upstream.Proprietary, Region: "us", Retention: "30d"}

	selfOnly := e.Evaluate(chat("write to a@example.com"), nil, "")
	if selfOnly.Action != ActionSelfHostedOnly {
		t.Fatalf("action = %v, want self_hosted_only", selfOnly.Action)
	}
	blocked := e.Evaluate(chat("AKIAIOSFODNN7EXAMPLE"), nil, "")
	clean := e.Evaluate(chat("hello"), nil, "")
	var nilDecision *Decision

	tests := []struct {
		name string
		clr  Clearance
		info *upstream.Info
		ok   bool
	}{
		{"self_hosted_only cannot mint for a proprietary target", selfOnly.Clearance(), api, false},
		{"self_hosted_only mints for a self-hosted target", selfOnly.Clearance(), self, true},
		{"blocked mints nothing", blocked.Clearance(), self, false},
		{"clean request mints for a proprietary target", clean.Clearance(), api, true},
		{"zero Clearance mints nothing", Clearance{}, self, false},
		{"nil Decision mints nothing", nilDecision.Clearance(), self, false},
		{"Unrestricted mints for anything", Unrestricted(), api, true},
		{"no target, no permit", Unrestricted(), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pm, err := tt.clr.Permit(tt.info)
			if !tt.ok {
				var le *llm.Error
				if !errors.As(err, &le) || le.Status != http.StatusForbidden || le.Type != llm.ErrPolicy {
					t.Fatalf("Permit = %v, want a 403 policy_error", err)
				}
				if pm != (Permit{}) {
					t.Errorf("a refused Permit returned %+v, want the zero Permit", pm)
				}
				return
			}
			if err != nil {
				t.Fatalf("Permit: %v", err)
			}
			if err := pm.Check(tt.info); err != nil {
				t.Errorf("Check(own target) = %v, want nil", err)
			}
		})
	}
}

// TestPermitCheckRefuses: the zero Permit, and a permit minted for target
// A, are refused by target B with the 500 that marks an uncleared call.
func TestPermitCheckRefuses(t *testing.T) {
	a := &upstream.Info{Name: "a", Hosting: upstream.SelfHosted}
	b := &upstream.Info{Name: "b", Hosting: upstream.SelfHosted}
	bTwin := *b
	forA, err := Unrestricted().Permit(a)
	if err != nil {
		t.Fatal(err)
	}
	forB, err := Unrestricted().Permit(b)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pm   Permit
		info *upstream.Info
	}{
		{"zero permit", Permit{}, b},
		{"permit for a, call to b", forA, b},
		// A copy with the same facts is another upstream instance: a
		// permit names the instance (pointer), not a description that
		// could be repeated.
		{"permit for b, call to a copy of b's Info", forB, &bTwin},
		{"permit for a, nil target", forA, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.pm.Check(tt.info)
			var le *llm.Error
			if !errors.As(err, &le) || le.Status != http.StatusInternalServerError || le.Code != "not_cleared" {
				t.Fatalf("Check = %v, want a 500 not_cleared", err)
			}
		})
	}
}
