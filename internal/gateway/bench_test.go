package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkChatPassThrough measures one OpenAI request through the gateway
// to an OpenAI-format upstream over loopback (client, gateway and fake
// upstream all in this process).
func BenchmarkChatPassThrough(b *testing.B) {
	benchChat(b, "/v1/chat/completions", `{"model":"m-openai","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarise the quarterly report in three bullet points, please."}]}`)
}

// BenchmarkChatTranslated measures an Anthropic request served by an
// OpenAI-format upstream: decode, translate, encode both ways.
func BenchmarkChatTranslated(b *testing.B) {
	benchChat(b, "/v1/messages", `{"model":"m-openai","max_tokens":100,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Summarise the quarterly report in three bullet points, please."}]}`)
}

// BenchmarkChatStream measures a streamed pass-through request.
func BenchmarkChatStream(b *testing.B) {
	benchChat(b, "/v1/chat/completions", `{"model":"m-openai","stream":true,"messages":[{"role":"user","content":"Summarise the quarterly report in three bullet points, please."}]}`)
}

func benchChat(b *testing.B, path, body string) {
	e := newEnv(b)
	e.oa.Record(false)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(e.srv.URL+path, "application/json", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}
