package fake

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestGeminiAuthAndRoutes(t *testing.T) {
	g := NewGemini()
	defer g.Close()
	body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	tests := []struct {
		name, method, path, key, header string
		wantStatus                      int
		wantBody                        string
	}{
		{"header key", "POST", "/models/m:generateContent", "", APIKey, 200, `"text":"Hello! You said: hi"`},
		{"query key", "POST", "/models/m:generateContent?key=" + APIKey, "", "", 200, `"finishReason":"STOP"`},
		{"missing key", "POST", "/models/m:generateContent", "", "", 403, `"status": "PERMISSION_DENIED"`},
		{"wrong key", "POST", "/models/m:generateContent", "", "nope", 400, `"reason":"API_KEY_INVALID"`},
		{"models", "GET", "/models", "", APIKey, 200, `"name": "models/gemini-2.5-flash"`},
		{"json array stream", "POST", "/models/m:streamGenerateContent", "", APIKey, 200, `[{`},
		{"sse stream", "POST", "/models/m:streamGenerateContent?alt=sse", "", APIKey, 200, "data: {"},
		{"unknown method", "POST", "/models/m:countTokens", "", APIKey, 404, `"status": "NOT_FOUND"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, g.URL+tt.path, strings.NewReader(body))
			if tt.header != "" {
				req.Header.Set("x-goog-api-key", tt.header)
			}
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
	if n := len(g.Log.All()); n != len(tests) {
		t.Errorf("logged %d requests, want %d", n, len(tests))
	}
}

func TestGeminiStreamUsageIsRunningTotal(t *testing.T) {
	g := NewGemini()
	defer g.Close()
	req, _ := http.NewRequest("POST", g.URL+"/models/m:streamGenerateContent?alt=sse",
		strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"a b c"}]}]}`))
	req.Header.Set("x-goog-api-key", APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	events := strings.Split(strings.TrimSpace(string(b)), "\r\n\r\n")
	if len(events) != 6 { // "Hello! ", "You ", "said: ", "a ", "b ", "c"
		t.Fatalf("%d events:\n%s", len(events), b)
	}
	if !strings.Contains(events[len(events)-1], `"candidatesTokenCount":7`) || strings.Contains(events[0], `"candidatesTokenCount":7`) {
		t.Errorf("usage is not a running total:\n%s", b)
	}
}

func TestSplitKeepSpaces(t *testing.T) {
	for _, s := range []string{"", "a", "a b", "Hello! You said: x  y "} {
		if got := strings.Join(splitKeepSpaces(s), ""); got != s {
			t.Errorf("splitKeepSpaces(%q) joins to %q", s, got)
		}
	}
}
