package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func benchRequest() *llm.ChatRequest {
	maxTok, temp := 512, 0.7
	req := &llm.ChatRequest{
		Model:       "gemini-2.5-flash",
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

// BenchmarkEncodeRequest measures canonical request -> Gemini JSON body.
func BenchmarkEncodeRequest(b *testing.B) {
	req := benchRequest()
	c := &Client{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.encode(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeResponse measures a Gemini JSON answer -> canonical.
func BenchmarkDecodeResponse(b *testing.B) {
	body := []byte(`{"candidates":[{"content":{"parts":[{"text":"` + strings.Repeat("It is sunny and warm today. ", 20) + `"}],"role":"model"},"finishReason":"STOP","index":0}],
	"usageMetadata":{"promptTokenCount":120,"candidatesTokenCount":140,"totalTokenCount":260},"modelVersion":"gemini-2.5-flash","responseId":"abc"}`)
	id := func() string { return "call_1" }
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var gr generateResponse
		if err := json.Unmarshal(body, &gr); err != nil {
			b.Fatal(err)
		}
		_ = fromResponse(&gr, "m", 0, id)
	}
}

// BenchmarkStreamDecode measures an SSE body of 50 text chunks through
// Recv, per stream.
func BenchmarkStreamDecode(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; i < 50; i++ {
		fin := ""
		if i == 49 {
			fin = `,"finishReason":"STOP"`
		}
		fmt.Fprintf(&buf, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"word%d \"}],\"role\":\"model\"}%s,\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":%d,\"totalTokenCount\":%d},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r\"}\r\n\r\n", i, fin, i+1, i+13)
	}
	body := buf.Bytes()
	id := func() string { return "call_1" }
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		resp := &http.Response{Body: io.NopCloser(bytes.NewReader(body))}
		s := newStream("g", resp, converter{model: "m", newID: id})
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
