package fake

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestOllamaRoutes(t *testing.T) {
	o := NewOllama()
	defer o.Close()
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string
	}{
		{"chat", "POST", "/api/chat", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false}`, 200, `"content":"Hello! You said: hi"`},
		{"chat streams by default", "POST", "/api/chat", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, 200, "\"done\":true,\"done_reason\":\"stop\""},
		{"no model", "POST", "/api/chat", `{"messages":[]}`, 400, `{"error":"model is required"}`},
		{"tags", "GET", "/api/tags", "", 200, `"name":"nomic-embed-text:latest"`},
		{"embed one string", "POST", "/api/embed", `{"model":"e","input":"x"}`, 200, `"embeddings":[[`},
		{"unknown", "GET", "/api/ps", "", 404, "404 page not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, o.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
				t.Errorf("got %d %s, want %d containing %s", resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
		})
	}
}
