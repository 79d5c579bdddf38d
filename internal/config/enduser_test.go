package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEndUserBudgetConfig(t *testing.T) {
	env := func(string) (string, bool) { return "", false }
	c, err := Parse([]byte(`
metering:
  limits:
    end_user_budget: { budget_usd: "1.50" }
`), env)
	if err != nil {
		t.Fatal(err)
	}
	want := &EndUserBudget{BudgetUSD: 1_500_000_000, Period: "daily", Hosting: "proprietary", MaxTrackedUsers: 100_000}
	if diff := cmp.Diff(want, c.Metering.Limits.EndUserBudget); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if c, err := Parse([]byte("metering: {}"), env); err != nil || c.Metering.Limits.EndUserBudget != nil {
		t.Errorf("unset: %v, %+v", err, c.Metering.Limits.EndUserBudget)
	}
	for _, tc := range []struct{ yaml, path string }{
		{"{budget_usd: 0}", "end_user_budget.budget_usd"},
		{"{budget_usd: 1, period: total}", "end_user_budget.period"},
		{"{budget_usd: 1, hosting: gpu}", "end_user_budget.hosting"},
		{"{budget_usd: 1, max_tracked_users: -1}", "end_user_budget.max_tracked_users"},
	} {
		_, err := Parse([]byte("metering: {limits: {end_user_budget: "+tc.yaml+"}}"), env)
		if err == nil || !strings.Contains(err.Error(), "metering.limits."+tc.path) {
			t.Errorf("%s: err %v, want one naming %s", tc.yaml, err, tc.path)
		}
	}
	// A monthly budget re-reads up to a month of raw rows after a restart.
	_, err = Parse([]byte("metering: {retention: {usage: 7d}, limits: {end_user_budget: {budget_usd: 1, period: monthly}}}"), env)
	if err == nil || !strings.Contains(err.Error(), "metering.limits.end_user_budget.period") {
		t.Errorf("monthly with 7d retention: %v", err)
	}
	if _, err := Parse([]byte("metering: {retention: {usage: 7d}, limits: {end_user_budget: {budget_usd: 1, period: weekly}}}"), env); err != nil {
		t.Errorf("weekly with 7d retention: %v", err)
	}
}
