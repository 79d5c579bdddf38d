package app

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// TestNoMasterKeyRefusesWebPages: without a master key, a web page the
// operator opens could POST to the loopback gateway (a text/plain "simple"
// request needs no preflight) and spend its provider keys, or, by DNS
// rebinding, read answers and metrics. Programs on the machine are served.
func TestNoMasterKeyRefusesWebPages(t *testing.T) {
	t.Setenv("FULCRUM_KEEP_START_PAGES", "1")
	oa := fake.NewOpenAI()
	defer oa.Close()
	c := parse(t, `
server: { listen: "127.0.0.1:0" }
storage: { data_dir: `+t.TempDir()+` }
providers:
  - { name: oa, type: openai, base_url: "`+oa.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m, provider: oa, upstream: gpt-4o }
`)
	addr := listening(t, c)
	port := addr[strings.LastIndex(addr, ":"):]
	const chat = `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name, method, path, host, origin, ctype string
		want                                    int
	}{
		{"program", "POST", "/v1/chat/completions", "", "", "application/json", 200},
		{"program via localhost", "POST", "/v1/chat/completions", "localhost" + port, "", "application/json", 200},
		{"program via [::1]", "GET", "/healthz", "[::1]" + port, "", "", 200},
		{"local web app", "POST", "/v1/chat/completions", "", "http://localhost:3000", "application/json", 200},
		{"cross-site simple POST", "POST", "/v1/chat/completions", "", "https://evil.example", "text/plain", 403},
		{"opaque origin", "POST", "/v1/chat/completions", "", "null", "text/plain", 403},
		{"DNS rebinding", "POST", "/v1/chat/completions", "evil.example" + port, "", "application/json", 403},
		{"DNS rebinding, metrics", "GET", "/metrics", "evil.example" + port, "", "", 403},
		{"look-alike host", "GET", "/metrics", "localhost.evil.example" + port, "", "", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.method == "POST" {
				body = strings.NewReader(chat)
			}
			req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, body)
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.want, b)
			}
		})
	}
}

// TestWeakMasterKeyWarned: a short master key on a public address is
// warned about (it is the admin credential, guessed at without limit);
// on loopback, or when long, nothing is said.
func TestWeakMasterKeyWarned(t *testing.T) {
	for _, tc := range []struct {
		listen, key string
		warn        bool
	}{
		{"0.0.0.0:8080", "changeme", true},
		{"0.0.0.0:8080", strings.Repeat("k", 44), false},
		{"127.0.0.1:8080", "changeme", false},
		{"0.0.0.0:8080", "", false},
	} {
		var logs lockedBuffer
		c := &config.Config{}
		c.Server.Listen, c.Server.MasterKey = tc.listen, tc.key
		warnWeakMasterKey(slog.New(slog.NewTextHandler(&logs, nil)), c)
		if got := strings.Contains(logs.String(), "master key is short"); got != tc.warn {
			t.Errorf("%s with a %d-character key: warned %v, want %v", tc.listen, len(tc.key), got, tc.warn)
		}
		if tc.key != "" && strings.Contains(logs.String(), tc.key) {
			t.Errorf("the warning holds the key: %s", logs.String())
		}
	}
}
