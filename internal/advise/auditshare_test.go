package advise

import (
	"context"
	"strings"
	"testing"
)

// Measured usage whose audit log shows more requests kept private than the
// profile's sensitive workload classes (bank.yaml: card disputes, 35%): the
// classes' shares are used as given and one note says so. Before, a second
// note claimed "more than the profile's 0%: the higher share is used",
// though the classes' 35% was used. Without classes the higher share is
// used, and said.
func TestAuditShareAgainstWorkloadClasses(t *testing.T) {
	m := &MeasuredUsage{Days: 30, InputTokens: 3e9, OutputTokens: 1e9, Requests: 1_000_000, PrivateRequests: 900_000, PeakRPS: 5}
	p, err := LoadProfile("../../examples/profiles/bank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), Options{Profile: p, Usage: fakeUsage{m}})
	if err != nil {
		t.Fatal(err)
	}
	var audit []string
	for _, n := range r.Notes {
		if strings.HasPrefix(n, "The audit log shows") {
			audit = append(audit, n)
		}
	}
	want := "The audit log shows 90% of requests kept private, more than the 35% of the sensitive workload classes: the classes' shares are used as given; review them."
	if r.PrivateShare != 0.35 || len(audit) != 1 || audit[0] != want {
		t.Errorf("private share %g, notes %q; want 0.35 and %q", r.PrivateShare, audit, want)
	}

	p, err = LoadProfile("../../examples/profiles/startup.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err = Run(context.Background(), Options{Profile: p, Usage: fakeUsage{m}})
	if err != nil {
		t.Fatal(err)
	}
	if r.PrivateShare != 0.9 || !strings.Contains(strings.Join(r.Notes, "\n"), "The audit log shows 90% of requests kept private, more than the profile's 0%: the higher share is used.") {
		t.Errorf("without classes: private share %g, notes %q", r.PrivateShare, r.Notes)
	}
}
