package mockup

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJSONTrue(t *testing.T) {
	tests := []struct {
		body, key string
		want      bool
	}{
		{`{"stream":true}`, "stream", true},
		{`{"stream" : true}`, "stream", true},
		{"{\"stream\":\n\ttrue}", "stream", true},
		{`{"stream":false}`, "stream", false},
		{`{"model":"m"}`, "stream", false},
		{`{"stream_options":{"include_usage":true}}`, "stream", false},
		{`{"stream_options":{"include_usage":true},"stream":true}`, "stream", true},
		{`{"stream_options":{"include_usage":true}}`, "include_usage", true},
		{`{"messages":[{"content":"\"stream\":true"}],"stream":false}`, "stream", false},
		{`{"content":"stream","stream":true}`, "stream", true},
		{`{"stream":`, "stream", false},
	}
	for _, tt := range tests {
		if got := JSONTrue([]byte(tt.body), tt.key); got != tt.want {
			t.Errorf("JSONTrue(%s, %q) = %v, want %v", tt.body, tt.key, got, tt.want)
		}
	}
}

type chunk struct {
	Object  string `json:"object"`
	Choices []struct {
		Delta struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestNonStreaming(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	resp := post(t, srv.URL, `{"model":"bench-model","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct {
				Role, Content string
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Object != "chat.completion" || len(got.Choices) != 1 || got.Choices[0].Message.Role != "assistant" ||
		got.Choices[0].FinishReason != "stop" || got.Usage.TotalTokens != PromptTok+OutputTok {
		t.Errorf("unexpected completion: %+v", got)
	}
	if n := len(New(Options{}).Completion()); n < 250 || n > 400 {
		t.Errorf("completion is %d bytes, want about 300", n)
	}
}

func TestStreaming(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	tests := []struct {
		name      string
		body      string
		wantUsage bool
	}{
		{"without usage", `{"model":"m","stream":true,"messages":[]}`, false},
		{"with usage", `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, srv.URL, tt.body)
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Fatalf("content type %q", ct)
			}
			var chunks []chunk
			var sawDone bool
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				line := sc.Text()
				if line == "" {
					continue
				}
				data, ok := strings.CutPrefix(line, "data: ")
				if !ok {
					t.Fatalf("line without data prefix: %q", line)
				}
				if sawDone {
					t.Fatalf("event after [DONE]: %q", line)
				}
				if data == "[DONE]" {
					sawDone = true
					continue
				}
				var c chunk
				if err := json.Unmarshal([]byte(data), &c); err != nil {
					t.Fatalf("chunk %q: %v", data, err)
				}
				chunks = append(chunks, c)
			}
			if !sawDone {
				t.Fatal("no [DONE]")
			}
			want := Chunks
			if tt.wantUsage {
				want++
			}
			if len(chunks) != want {
				t.Fatalf("got %d chunks, want %d", len(chunks), want)
			}
			var text string
			for _, c := range chunks[:Chunks] {
				if c.Object != "chat.completion.chunk" || len(c.Choices) != 1 || c.Usage != nil {
					t.Errorf("bad content chunk %+v", c)
				}
				text += c.Choices[0].Delta.Content
			}
			if chunks[0].Choices[0].Delta.Role != "assistant" {
				t.Error("first chunk should carry the role")
			}
			if fr := chunks[Chunks-1].Choices[0].FinishReason; fr == nil || *fr != "stop" {
				t.Error("last content chunk should finish with stop")
			}
			if diff := cmp.Diff(strings.Join(Words[:], ""), text); diff != "" {
				t.Errorf("streamed text (-want +got):\n%s", diff)
			}
			if tt.wantUsage {
				u := chunks[Chunks]
				if len(u.Choices) != 0 || u.Usage == nil || u.Usage.TotalTokens != PromptTok+OutputTok {
					t.Errorf("bad usage chunk %+v", u)
				}
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
}

func BenchmarkChat(b *testing.B) {
	s := New(Options{})
	for _, tt := range []struct{ name, body string }{
		{"nonstream", `{"model":"bench-model","messages":[{"role":"user","content":"hello"}]}`},
		{"stream", `{"model":"bench-model","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}`},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(tt.body))
				s.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
