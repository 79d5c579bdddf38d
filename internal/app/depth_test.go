package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// TestDeepBodyScanned: the policy scan reads a body to the gateway's own
// server.max_json_depth, so a body the gateway accepts is scanned to the
// end. With the limit at 300, a value 250 levels deep is found (the
// proprietary upstream never sees it) and a clean 250-deep body is served;
// with the default limit (128) the same body is a 400 json_too_deep.
func TestDeepBodyScanned(t *testing.T) {
	oa := fake.NewOpenAI()
	defer oa.Close()
	deep := func(leaf string) string {
		const n = 249 // + the body object itself: 250 levels
		return `{"model":"m","messages":[{"role":"user","content":"hi"}],"x":` +
			strings.Repeat(`{"a":`, n-1) + `"` + leaf + `"` + strings.Repeat("}", n-1) + `}`
	}
	post := func(t *testing.T, depth string, body string) (int, string) {
		t.Helper()
		c := parse(t, `
storage: { data_dir: `+t.TempDir()+` }
server: { max_json_depth: `+depth+` }
providers:
  - { name: oa, type: openai, base_url: "`+oa.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m, provider: oa, upstream: gpt-4o }
`)
		g, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		srv := httptest.NewServer(g.Handler)
		defer srv.Close()
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	oa.Log.Reset()
	if code, b := post(t, "300", deep("mail ann.leak@example.com")); code != http.StatusForbidden || !strings.Contains(b, "email") {
		t.Errorf("sensitive value 250 deep, limit 300: %d %s; want 403 naming email", code, b)
	}
	for _, r := range oa.Log.All() {
		if strings.Contains(string(r.Body), "ann.leak") {
			t.Fatalf("the value reached the proprietary upstream: %s", r.Body)
		}
	}
	if code, b := post(t, "300", deep("nothing to see")); code != http.StatusOK {
		t.Errorf("clean body 250 deep, limit 300: %d %s; want 200", code, b)
	}
	if code, b := post(t, "0", deep("nothing to see")); code != http.StatusBadRequest || !strings.Contains(b, "json_too_deep") {
		t.Errorf("clean body 250 deep, default limit: %d %s; want 400 json_too_deep", code, b)
	}
}
