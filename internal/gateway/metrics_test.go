package gateway_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/openai"
	"github.com/fulcrumhq/fulcrum/internal/router"
)

// metricsServer is a gateway over one fake OpenAI upstream, served in
// process (no sockets: the series test sends tens of thousands of requests).
func metricsServer(t *testing.T, o gateway.Options) (*gateway.Server, *gateway.Metrics) {
	t.Helper()
	oa := fake.NewOpenAI()
	t.Cleanup(oa.Close)
	po, err := openai.New(config.Provider{Name: "p-openai", Type: "openai", BaseURL: oa.URL, APIKey: fake.APIKey, Hosting: "proprietary"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, ok := any(po).(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	})
	cfg := &config.Config{
		Providers: []config.Provider{{Name: "p-openai", Type: "openai"}},
		Models:    []config.Model{{Name: "m-openai", Provider: "p-openai", Upstream: "gpt-4o", Type: "chat"}},
	}
	r, err := router.New(cfg, map[string]provider.Provider{"p-openai": po}, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o.Router = r
	o.Metrics = gateway.NewMetrics()
	return gateway.New(o), o.Metrics
}

func do(h http.Handler, method, path, key, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestMetricsNeedAKey: with a master key set, /metrics answers 401 to no
// key and to a wrong one, and 200 to the master key and the scrape token.
func TestMetricsNeedAKey(t *testing.T) {
	s, _ := metricsServer(t, gateway.Options{MasterKey: "mk-secret", MetricsToken: "scrape-tok"})
	for _, tc := range []struct {
		key  string
		want int
	}{{"", 401}, {"wrong", 401}, {"scrape-to", 401}, {"mk-secret", 200}, {"scrape-tok", 200}} {
		w := do(s, "GET", "/metrics", tc.key, "")
		if w.Code != tc.want {
			t.Errorf("key %q: status %d, want %d", tc.key, w.Code, tc.want)
		}
		if tc.want == 401 && strings.Contains(w.Body.String(), "fulcrum_") {
			t.Errorf("key %q: 401 body leaks series: %s", tc.key, w.Body.String())
		}
	}
	// A scrape token alone (loopback, no master key) also closes the page.
	s, _ = metricsServer(t, gateway.Options{MetricsToken: "scrape-tok"})
	if w := do(s, "GET", "/metrics", "", ""); w.Code != 401 {
		t.Errorf("scrape token set, no key sent: status %d", w.Code)
	}
	// Neither set: loopback-only gateway, open as before.
	s, _ = metricsServer(t, gateway.Options{})
	if w := do(s, "GET", "/metrics", "", ""); w.Code != 200 {
		t.Errorf("no keys configured: status %d", w.Code)
	}
}

// TestMetricsSeriesBounded sends 30,000 requests naming random unknown
// models (the attack that made 540k series before) and checks the series
// count stays what the config allows, with the unknown names under "other".
func TestMetricsSeriesBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("30k requests")
	}
	s, m := metricsServer(t, gateway.Options{})
	for i := range 30000 {
		body := fmt.Sprintf(`{"model":"rand-%d-%x","messages":[{"role":"user","content":"hi"}]}`, i, rand.Uint64())
		if w := do(s, "POST", "/v1/chat/completions", "", body); w.Code != 404 {
			t.Fatalf("unknown model: status %d: %s", w.Code, w.Body)
		}
	}
	if w := do(s, "POST", "/v1/chat/completions", "", `{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`); w.Code != 200 {
		t.Fatalf("known model: status %d: %s", w.Code, w.Body)
	}
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "fulcrum_") {
			continue
		}
		for _, mt := range mf.GetMetric() {
			series++
			for _, l := range mt.GetLabel() {
				if strings.HasPrefix(l.GetValue(), "rand-") {
					t.Fatalf("%s carries a client-sent model name: %v", mf.GetName(), mt.GetLabel())
				}
			}
		}
	}
	if series > 50 {
		t.Errorf("%d fulcrum_ series after 30k unknown models; want a small bound", series)
	}
	page := do(s, "GET", "/metrics", "", "").Body.String()
	if !strings.Contains(page, `fulcrum_requests_total{model="other",provider="",status="404"} 30000`) {
		t.Errorf("unknown models not counted under other:\n%s", grepLines(page, "fulcrum_requests_total"))
	}
	if !strings.Contains(page, `fulcrum_requests_total{model="m-openai",provider="p-openai",status="200"} 1`) {
		t.Errorf("known model not counted under its name:\n%s", grepLines(page, "fulcrum_requests_total"))
	}
	if len(page) > 64<<10 {
		t.Errorf("/metrics is %d bytes after the flood", len(page))
	}
}

// TestMetricsNamingConventions runs Prometheus' own linter over every
// series the gateway exports.
func TestMetricsNamingConventions(t *testing.T) {
	s, _ := metricsServer(t, gateway.Options{})
	do(s, "POST", "/v1/chat/completions", "", `{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`)
	page := do(s, "GET", "/metrics", "", "").Body.String()
	problems, err := promlint.New(strings.NewReader(page)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "fulcrum_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
