package admin

import (
	"context"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/limits"
)

// TestEndUserBudgets: GET /admin/budgets?scope=user:KEYID:USER shows one
// end user's period; the user id may hold ':'.
func TestEndUserBudgets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	code, k := f.do(t, "POST", "/admin/keys", `{"name":"u"}`)
	if code != 201 {
		t.Fatal(code, k)
	}
	id := k["id"].(string)
	key, err := f.keys.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	a, le := f.gate.AdmitUser(ctx, key, "bob:x", 10, limits.Amount{ProprietaryNanos: 0.25e9})
	if le != nil {
		t.Fatal(le)
	}
	defer a.Done(limits.Amount{}, -1)
	scope := "user:" + id + ":bob:x"
	code, got := f.do(t, "GET", "/admin/budgets?scope="+url.QueryEscape(scope), "")
	want := map[string]any{"object": "budgets", "scope": scope, "budgets": []any{
		map[string]any{"period": "daily", "hosting": "proprietary", "limit_usd": "1.00", "spent_usd": "0.00", "reserved_usd": "0.25",
			"remaining_usd": "0.75", "limit_nanos": 1e9, "spent_nanos": 0.0, "reserved_nanos": 0.25e9, "remaining_nanos": 0.75e9,
			"period_start": "2026-03-18T00:00:00Z", "resets_at": "2026-03-19T00:00:00Z"},
	}}
	if diff := cmp.Diff(want, got); code != 200 || diff != "" {
		t.Errorf("bob:x %d (-want +got):\n%s", code, diff)
	}
	code, got = f.do(t, "GET", "/admin/budgets?scope="+url.QueryEscape("user:"+id+":bob"), "")
	if bs, _ := got["budgets"].([]any); code != 200 || len(bs) != 1 || bs[0].(map[string]any)["reserved_usd"] != "0.00" {
		t.Errorf("bob (another user): %d %v", code, got)
	}
	if code, got := f.do(t, "GET", "/admin/budgets?scope=user:nokey:bob", ""); code != 404 {
		t.Errorf("unknown key: %d %v", code, got)
	}
}

// TestKeyUserBudgetAPI: POST /admin/keys takes a key's own end-user
// budget, and /admin/budgets?scope=user:... then reads it.
func TestKeyUserBudgetAPI(t *testing.T) {
	f := newFixture(t)
	code, k := f.do(t, "POST", "/admin/keys", `{"name":"per-user","user_budget_usd":"0.50","user_period":"weekly"}`)
	if code != 201 || k["user_budget_usd"] != "0.50" || k["user_budget_nanos"] != 0.5e9 || k["user_period"] != "weekly" {
		t.Fatalf("create: %d %v", code, k)
	}
	code, got := f.do(t, "GET", "/admin/budgets?scope=user:"+k["id"].(string)+":bob", "")
	bs, _ := got["budgets"].([]any)
	if code != 200 || len(bs) != 1 || bs[0].(map[string]any)["limit_usd"] != "0.50" || bs[0].(map[string]any)["period"] != "weekly" {
		t.Errorf("budgets: %d %v", code, got)
	}
	code, k = f.do(t, "POST", "/admin/keys", `{"name":"default-period","user_budget_usd":1}`)
	if code != 201 || k["user_period"] != "daily" {
		t.Errorf("default period: %d %v", code, k)
	}
	for _, body := range []string{
		`{"name":"x","user_budget_usd":"ten"}`,
		`{"name":"y","user_budget_usd":1,"user_period":"total"}`,
	} {
		if code, got := f.do(t, "POST", "/admin/keys", body); code != 400 {
			t.Errorf("%s: %d %v", body, code, got)
		}
	}
}
