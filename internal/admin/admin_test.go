package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/keys"
	"github.com/fulcrumhq/fulcrum/internal/limits"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

var t0 = time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)

type fixture struct {
	srv  *httptest.Server
	keys *keys.Service
	gate *limits.Gate
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := func() time.Time { return t0 }
	ks := keys.New(st, keys.Options{Now: now})
	g := limits.NewGate(limits.GateOptions{
		Limiter: limits.NewMemory(limits.MemoryOptions{Totals: st, Now: now}),
		Teams:   []limits.Budget{{Scope: "team:ml", Period: store.Weekly, LimitNanos: 50e9}},
		EndUser: limits.EndUserBudget{Period: store.Daily, LimitNanos: 1e9},
	})
	srv := httptest.NewServer(New(Options{Keys: ks, Budgets: g, Now: now}))
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, keys: ks, gate: g}
}

func (f *fixture) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: content-type %q", method, path, ct)
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, m
}

func TestKeysLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	code, k := f.do(t, "POST", "/admin/keys", `{"name":"app","team":"ml","models":["gpt-4o","smart"],"budget_usd":"10.00","rpm":60,"tpm":100000,"expires":"720h"}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, k)
	}
	secret, _ := k["secret"].(string)
	id, _ := k["id"].(string)
	delete(k, "secret")
	delete(k, "id")
	want := map[string]any{"object": "key", "name": "app", "team": "ml", "prefix": secret[:10], "status": "active",
		"models": []any{"gpt-4o", "smart"}, "budget_usd": "10.00", "budget_nanos": 10e9, "period": "monthly",
		"rpm": 60.0, "tpm": 100000.0, "created": "2026-03-18T12:00:00Z", "expires_at": "2026-04-17T12:00:00Z"}
	if diff := cmp.Diff(want, k); diff != "" {
		t.Errorf("created key (-want +got):\n%s", diff)
	}
	if _, err := f.keys.Authenticate(ctx, secret); err != nil {
		t.Fatalf("new secret does not authenticate: %v", err)
	}

	code, list := f.do(t, "GET", "/admin/keys", "")
	data, _ := list["data"].([]any)
	if code != 200 || list["object"] != "list" || len(data) != 1 {
		t.Fatalf("list: %d %v", code, list)
	}
	if _, ok := data[0].(map[string]any)["secret"]; ok {
		t.Error("list shows a secret")
	}

	code, rot := f.do(t, "POST", "/admin/keys/"+id+"/rotate", "")
	newSecret, _ := rot["secret"].(string)
	if code != 200 || newSecret == "" || newSecret == secret || rot["prefix"] != newSecret[:10] {
		t.Fatalf("rotate: %d %v", code, rot)
	}
	if _, err := f.keys.Authenticate(ctx, secret); err == nil {
		t.Error("old secret still authenticates after rotate")
	}

	code, rev := f.do(t, "POST", "/admin/keys/"+id+"/revoke", "")
	if code != 200 || rev["status"] != "revoked" || rev["revoked_at"] != "2026-03-18T12:00:00Z" {
		t.Fatalf("revoke: %d %v", code, rev)
	}
	if _, err := f.keys.Authenticate(ctx, newSecret); err != keys.ErrRevoked {
		t.Errorf("after revoke: %v", err)
	}
	if code, got := f.do(t, "GET", "/admin/keys/"+id, ""); code != 200 || got["status"] != "revoked" {
		t.Errorf("get: %d %v", code, got)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	if code, _ := f.do(t, "POST", "/admin/keys", `{"name":"dup"}`); code != 201 {
		t.Fatal(code)
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		typ, code, param   string
	}{
		{"POST", "/admin/keys", `{"name":`, 400, "invalid_request_error", "invalid_json", ""},
		{"POST", "/admin/keys", `{"nom":"x"}`, 400, "invalid_request_error", "invalid_json", ""},
		{"POST", "/admin/keys", `{"team":"x"}`, 400, "invalid_request_error", "invalid_value", ""},
		{"POST", "/admin/keys", `{"name":"b","budget_usd":"ten"}`, 400, "invalid_request_error", "invalid_value", "budget_usd"},
		{"POST", "/admin/keys", `{"name":"b","expires":"soon"}`, 400, "invalid_request_error", "invalid_value", "expires"},
		{"POST", "/admin/keys", `{"name":"b","period":"hourly","budget_usd":1}`, 400, "invalid_request_error", "invalid_value", ""},
		{"POST", "/admin/keys", `{"name":"dup"}`, 409, "invalid_request_error", "key_exists", "name"},
		{"POST", "/admin/keys/key_nope/revoke", ``, 404, "not_found_error", "key_not_found", ""},
		{"POST", "/admin/keys/key_nope/rotate", ``, 404, "not_found_error", "key_not_found", ""},
		{"GET", "/admin/keys/key_nope", ``, 404, "not_found_error", "key_not_found", ""},
		{"GET", "/admin/budgets?scope=user:x", ``, 400, "invalid_request_error", "invalid_value", "scope"},
		{"GET", "/admin/nothing", ``, 404, "not_found_error", "unknown_url", ""},
	} {
		code, body := f.do(t, tc.method, tc.path, tc.body)
		e, _ := body["error"].(map[string]any)
		var param any
		if tc.param != "" {
			param = tc.param
		}
		if code != tc.status || e == nil || e["type"] != tc.typ || e["code"] != tc.code || e["param"] != param || e["message"] == "" {
			t.Errorf("%s %s %s: %d %v", tc.method, tc.path, tc.body, code, body)
		}
	}
}

func TestBudgets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	code, k := f.do(t, "POST", "/admin/keys", `{"name":"b","team":"ml","budget_usd":2.5,"period":"daily"}`)
	if code != 201 {
		t.Fatal(code, k)
	}
	id := k["id"].(string)
	key, err := f.keys.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	a, le := f.gate.Admit(ctx, key, 10, limits.Amount{ProprietaryNanos: 1e9})
	if le != nil {
		t.Fatal(le)
	}
	defer a.Done(limits.Amount{}, -1)
	code, got := f.do(t, "GET", "/admin/budgets?scope=key:"+id, "")
	want := map[string]any{"object": "budgets", "scope": "key:" + id, "budgets": []any{
		map[string]any{"period": "daily", "hosting": "proprietary", "limit_usd": "2.50", "spent_usd": "0.00", "reserved_usd": "1.00",
			"remaining_usd": "1.50", "limit_nanos": 2.5e9, "spent_nanos": 0.0, "reserved_nanos": 1e9, "remaining_nanos": 1.5e9,
			"period_start": "2026-03-18T00:00:00Z", "resets_at": "2026-03-19T00:00:00Z"},
		map[string]any{"period": "weekly", "hosting": "proprietary", "limit_usd": "50.00", "spent_usd": "0.00", "reserved_usd": "1.00",
			"remaining_usd": "49.00", "limit_nanos": 50e9, "spent_nanos": 0.0, "reserved_nanos": 1e9, "remaining_nanos": 49e9,
			"period_start": "2026-03-16T00:00:00Z", "resets_at": "2026-03-23T00:00:00Z"},
	}}
	if diff := cmp.Diff(want, got); code != 200 || diff != "" {
		t.Errorf("budgets %d (-want +got):\n%s", code, diff)
	}
	code, got = f.do(t, "GET", "/admin/budgets?scope=team:ml", "")
	if bs, _ := got["budgets"].([]any); code != 200 || len(bs) != 1 {
		t.Errorf("team budgets: %d %v", code, got)
	}
	code, got = f.do(t, "GET", "/admin/budgets?scope=team:none", "")
	if bs, ok := got["budgets"].([]any); code != 200 || !ok || len(bs) != 0 {
		t.Errorf("no budgets: %d %v", code, got)
	}
}
