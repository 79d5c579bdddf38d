package ollama

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func benchRequest() *llm.ChatRequest {
	maxTok, temp := 512, 0.7
	req := &llm.ChatRequest{
		Model:       "llama3.2",
		MaxTokens:   &maxTok,
		Temperature: &temp,
		Tools:       []llm.Tool{{Name: "get_weather", Description: "Current weather", Parameters: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}`)}},
		Messages:    []llm.Message{llm.TextMessage(llm.RoleSystem, "You are a helpful assistant.")},
	}
	for i := 0; i < 4; i++ {
		req.Messages = append(req.Messages,
			llm.TextMessage(llm.RoleUser, strings.Repeat("Tell me about the weather in Paris. ", 10)),
			llm.TextMessage(llm.RoleAssistant, strings.Repeat("It is sunny and warm today. ", 10)))
	}
	req.Messages = append(req.Messages, llm.TextMessage(llm.RoleUser, "And tomorrow?"))
	return req
}

// BenchmarkEncodeRequest measures canonical request -> /api/chat body.
func BenchmarkEncodeRequest(b *testing.B) {
	req := benchRequest()
	c := &Client{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.encode(req, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeResponse measures an /api/chat answer -> canonical.
func BenchmarkDecodeResponse(b *testing.B) {
	body := []byte(`{"model":"llama3.2","created_at":"2023-12-12T14:13:43.416799Z","message":{"role":"assistant","content":"` +
		strings.Repeat("It is sunny and warm today. ", 20) + `"},"done_reason":"stop","done":true,"total_duration":5191566416,"load_duration":2154458,"prompt_eval_count":26,"prompt_eval_duration":383809000,"eval_count":298,"eval_duration":4799921000}`)
	id := ids{next: func() string { return "1" }}
	now := time.Now()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var r chatResponse
		if err := json.Unmarshal(body, &r); err != nil {
			b.Fatal(err)
		}
		_ = fromResponse(&r, now, id)
	}
}

// BenchmarkStreamDecode measures an NDJSON body of 50 content lines and
// the final line through Recv, per stream.
func BenchmarkStreamDecode(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&buf, "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\",\"message\":{\"role\":\"assistant\",\"content\":\"word%d \"},\"done\":false}\n", i)
	}
	buf.WriteString(`{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}` + "\n")
	body := buf.Bytes()
	id := ids{next: func() string { return "1" }}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		resp := &http.Response{Body: io.NopCloser(bytes.NewReader(body))}
		s := newStream("o", resp, converter{id: id})
		n := 0
		for {
			_, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 52 {
			b.Fatalf("%d chunks", n)
		}
	}
}
