package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

// TestUsageGroupByTagAndUser stores records with tags and end users and
// reads GET /admin/usage grouped by tag, user and model, with the time
// window and a filter applied.
func TestUsageGroupByTagAndUser(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "u.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec := func(id string, at time.Time, model, team, user string, cost int64) store.UsageRecord {
		r := store.UsageRecord{Time: at, RequestID: id, Attempt: 1, KeyID: "k1", Model: model, Provider: "p",
			Hosting: "proprietary", Status: 200, InputTokens: 10, OutputTokens: 5, CostNanos: cost, EndUser: user}
		if team != "" {
			r.Tags = map[string]string{"team": team}
		}
		return r
	}
	recs := []store.UsageRecord{
		rec("r1", t0.Add(-time.Hour), "gpt-4o", "search", "alice", 1_000_000_000),
		rec("r2", t0.Add(-2*time.Hour), "gpt-4o", "search", "alice", 500_000_000),
		rec("r3", t0.Add(-3*time.Hour), "gpt-4o", "ads", "bob", 250_000_000),
		rec("r4", t0.Add(-4*time.Hour), "claude", "", "", 100_000_000),
		rec("old", t0.Add(-10*24*time.Hour), "gpt-4o", "search", "alice", 9_000_000_000),
	}
	if _, err := st.InsertUsage(ctx, recs); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Options{Usage: st, Now: func() time.Time { return t0 }}))
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}

	// An unknown dimension's error names every one accepted (it once left
	// out action and classes).
	code, m := f.do(t, "GET", "/admin/usage?since=7d&group_by=bogus", "")
	if msg := fmt.Sprint(m["error"]); code != http.StatusBadRequest || !strings.Contains(msg, "action, classes") {
		t.Errorf("group_by=bogus: %d %v, want 400 naming action and classes", code, m)
	}
	for _, g := range []string{"action", "classes"} {
		if code, m := f.do(t, "GET", "/admin/usage?since=7d&group_by="+g, ""); code != http.StatusOK {
			t.Errorf("group_by=%s: %d %v", g, code, m)
		}
	}

	code, m = f.do(t, "GET", "/admin/usage?since=7d&group_by=tag:team,user", "")
	if code != http.StatusOK {
		t.Fatalf("usage: %d %v", code, m)
	}
	got := map[string]string{}
	var reqs float64
	for _, g := range m["groups"].([]any) {
		g := g.(map[string]any)
		ks := g["keys"].([]any)
		got[ks[0].(string)+"/"+ks[1].(string)] = g["cost_usd"].(string)
		reqs += g["requests"].(float64)
	}
	want := map[string]string{"search/alice": "1.50", "ads/bob": "0.25", "/": "0.10"}
	if len(got) != len(want) || reqs != 4 {
		t.Fatalf("groups %v (requests %v), want %v over 4 requests (the 10-day-old record is outside since=7d)", got, reqs, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || !sameUSD(g, v) {
			t.Errorf("group %s: cost %q, want %s (all %v)", k, g, v, got)
		}
	}
	if gb := m["group_by"].([]any); len(gb) != 2 || gb[0] != "tag:team" || gb[1] != "user" {
		t.Errorf("group_by %v", gb)
	}

	// A filter and no dimensions: one total.
	code, m = f.do(t, "GET", "/admin/usage?since=7d&model=gpt-4o&group_by=", "")
	if code != http.StatusOK {
		t.Fatalf("usage total: %d %v", code, m)
	}
	gs := m["groups"].([]any)
	if len(gs) != 1 || gs[0].(map[string]any)["requests"].(float64) != 3 {
		t.Errorf("total for gpt-4o: %v", gs)
	}

	// Filters by tag (repeatable, AND; "team=" for untagged records) and
	// by end user: the matching group of the grouped summary.
	for _, tt := range []struct {
		q        string
		requests float64
		cost     string
	}{
		{"tag=team%3Dsearch", 2, "1.50"},
		{"tag=team=search", 2, "1.50"}, // an unescaped '=' in the value is the same
		{"tag=team=search&user=alice&model=gpt-4o", 2, "1.50"},
		{"tag=team=", 1, "0.10"},
		{"user=bob", 1, "0.25"},
		{"user=bob&tag=team=search", 0, ""},
		{"tag=team=search&tag=team=search", 2, "1.50"},
	} {
		code, m := f.do(t, "GET", "/admin/usage?since=7d&group_by=&"+tt.q, "")
		if code != http.StatusOK {
			t.Fatalf("%s: %d %v", tt.q, code, m)
		}
		gs := m["groups"].([]any)
		if tt.requests == 0 {
			if len(gs) != 0 {
				t.Errorf("%s: %v, want no group", tt.q, gs)
			}
			continue
		}
		if len(gs) != 1 {
			t.Fatalf("%s: %v, want one total", tt.q, gs)
		}
		g := gs[0].(map[string]any)
		if g["requests"].(float64) != tt.requests || !sameUSD(g["cost_usd"].(string), tt.cost) {
			t.Errorf("%s: %v requests costing %v, want %v costing %s", tt.q, g["requests"], g["cost_usd"], tt.requests, tt.cost)
		}
	}

	for _, tt := range []struct{ q, param string }{
		{"tag=team", "tag"},
		{"tag=bad'key=x", "tag"},
		{"tag=team=a&tag=team=b", "tag"},
		{"user=", "user"},
		{"group_by=colour", "group_by"},
		{"group_by=tag:bad'key", "group_by"},
		{"since=yesterday", "since"},
		{"since=2026-03-18&until=2026-03-17", "since"},
	} {
		code, m := f.do(t, "GET", "/admin/usage?"+tt.q, "")
		e, _ := m["error"].(map[string]any)
		if code != http.StatusBadRequest || e == nil || e["param"] != tt.param || e["type"] != "invalid_request_error" {
			t.Errorf("%s: %d %v, want 400 invalid_request_error on %s", tt.q, code, m, tt.param)
		}
	}

	// Without a store the endpoint is absent.
	off := httptest.NewServer(New(Options{}))
	t.Cleanup(off.Close)
	code, _ = (&fixture{srv: off}).do(t, "GET", "/admin/usage", "")
	if code != http.StatusNotFound {
		t.Errorf("no store: %d, want 404", code)
	}
}

// sameUSD compares decimal strings such as "1.5" and "1.500000000".
func sameUSD(a, b string) bool {
	var x, y float64
	if _, err := fmt.Sscan(a, &x); err != nil {
		return false
	}
	if _, err := fmt.Sscan(b, &y); err != nil {
		return false
	}
	return x == y
}
