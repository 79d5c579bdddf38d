package refproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestForwardsRequestAndResponse(t *testing.T) {
	var gotPath, gotBody, gotAuth string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotPath, gotBody, gotAuth = r.URL.Path, string(b), r.Header.Get("Authorization")
		w.Header().Set("X-Up", "1")
		w.WriteHeader(201)
		io.WriteString(w, "answer")
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	p := New(u)
	px := httptest.NewServer(p)
	defer px.Close()
	defer p.CloseIdleConnections()

	req, _ := http.NewRequest("POST", px.URL+"/v1/chat/completions", strings.NewReader("question"))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || string(body) != "answer" || resp.Header.Get("X-Up") != "1" {
		t.Errorf("response %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if gotPath != "/v1/chat/completions" || gotBody != "question" || gotAuth != "Bearer k" {
		t.Errorf("upstream saw %q %q %q", gotPath, gotBody, gotAuth)
	}
}
