package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseUSD(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"10", 10_000_000_000, false},
		{"10.00", 10_000_000_000, false},
		{"$0.1", 100_000_000, false},
		{"0.000000001", 1, false},
		{".5", 500_000_000, false},
		{"99.999999999", 99_999_999_999, false},
		{"0.0000000001", 0, true},
		{"-1", 0, true},
		{"1e3", 0, true},
		{"", 0, true},
		{".", 0, true},
		{"1,000", 0, true},
		{"1000000000", 0, true},
	} {
		got, err := ParseUSD(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestLimitsConfig(t *testing.T) {
	env := func(string) (string, bool) { return "", false }
	c, err := Parse([]byte(`
metering:
  limits:
    teams:
      - { team: ml, budget_usd: 250.10 }
      - { team: ml, budget_usd: 40, period: daily, hosting: self_hosted }
`), env)
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{BudgetHosting: "proprietary", ReservationTTL: Duration(15 * time.Minute), KeyCacheTTL: Duration(10 * time.Second),
		RedisPrefix: "fulcrum:", Teams: []TeamBudget{
			{Team: "ml", BudgetUSD: 250_100_000_000, Period: "monthly", Hosting: "proprietary"},
			{Team: "ml", BudgetUSD: 40_000_000_000, Period: "daily", Hosting: "self_hosted"},
		}}
	if diff := cmp.Diff(want, c.Metering.Limits); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}

	_, err = Parse([]byte(`
metering:
  limits:
    budget_hosting: some
    teams:
      - { budget_usd: 0, period: hourly, hosting: x }
`), env)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	msg := err.Error()
	for _, path := range []string{"metering.limits.budget_hosting", "metering.limits.teams[0].team", "metering.limits.teams[0].budget_usd",
		"metering.limits.teams[0].period", "metering.limits.teams[0].hosting"} {
		if !strings.Contains(msg, path) {
			t.Errorf("error does not name %s:\n%s", path, msg)
		}
	}
	if _, err := Parse([]byte("metering: {limits: {teams: [{team: a, budget_usd: 1.0000000001}]}}"), env); err == nil {
		t.Error("10 decimals accepted")
	}
}
