package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/admin"
	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// TestAdminUsageWired serves requests carrying tags and end users through
// the whole gateway and reads them back from GET /admin/usage grouped by
// tag and user; without the master key the endpoint answers 401.
func TestAdminUsageWired(t *testing.T) {
	api := fake.NewOpenAI()
	defer api.Close()
	c := parse(t, `
server: { master_key: mk-test }
storage: { data_dir: `+t.TempDir()+` }
metering: { flush_interval: 1ms }
providers:
  - { name: api, type: openai, base_url: "`+api.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m-api, provider: api, upstream: gpt-4o }
`)
	_, srv := serve(t, c)
	for _, u := range []struct{ team, user string }{{"search", "alice"}, {"search", "alice"}, {"ads", "bob"}} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"m-api","user":"`+u.user+`","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer mk-test")
		req.Header.Set("x-fulcrum-tags", "team="+u.team)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("chat: %d", resp.StatusCode)
		}
	}
	get := func(auth string) (int, admin.UsageView) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/usage?since=1h&group_by=tag:team,user", nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v admin.UsageView
		if resp.StatusCode == 200 {
			if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, v
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Errorf("no master key: %d, want 401", code)
	}
	if code, _ := get("sk-wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong key: %d, want 401", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, v := get("mk-test")
		if code != 200 {
			t.Fatalf("usage: %d", code)
		}
		got := map[string]int64{}
		for _, gr := range v.Groups {
			got[strings.Join(gr.Keys, "/")] = gr.Requests
		}
		if got["search/alice"] == 2 && got["ads/bob"] == 1 && len(got) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("groups %v, want search/alice 2 and ads/bob 1", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
