package anthropic

import (
	"os"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func readTestdata(b *testing.B, name string) []byte {
	b.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkDecodeMessagesRequest(b *testing.B) {
	body := readTestdata(b, "decreq_tools.in.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMessagesRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMessagesRequest(b *testing.B) {
	req, err := DecodeMessagesRequest(readTestdata(b, "decreq_tools.in.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeMessagesRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMessagesResponse(b *testing.B) {
	resp := &llm.ChatResponse{
		ID: "chatcmpl-abc", Model: "gpt-4o",
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant,
			"The quick brown fox jumps over the lazy dog. A second sentence of an ordinary answer."), FinishReason: llm.FinishStop}},
		Usage: &llm.Usage{InputTokens: 120, OutputTokens: 20},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeMessagesResponse(resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMessagesResponse(b *testing.B) {
	body := readTestdata(b, "decresp_tools.in.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMessagesResponse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamEncoder encodes one typical text chunk (the per-token
// hot path), reusing the output buffer as the gateway does.
func BenchmarkStreamEncoder(b *testing.B) {
	e := NewStreamEncoder("chatcmpl-1", "gpt-4o")
	buf := e.Append(nil, &llm.Chunk{Role: llm.RoleAssistant, Text: "Hello"})
	c := &llm.Chunk{Text: " world, and"}
	b.ReportAllocs()
	for b.Loop() {
		buf = e.Append(buf[:0], c)
	}
}

// BenchmarkStreamDecoder decodes one text_delta event, the per-token hot
// path of an Anthropic upstream.
func BenchmarkStreamDecoder(b *testing.B) {
	d := NewStreamDecoder()
	d.Process("message_start", []byte(`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":25,"output_tokens":1}}}`))
	d.Process("content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" world, and"}}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := d.Process("content_block_delta", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUsageTapContentDelta(b *testing.B) {
	var tap UsageTap
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" world, and"}}`)
	b.ReportAllocs()
	for b.Loop() {
		tap.Event("content_block_delta", data)
	}
}

// TestDecodeMessagesRequestAllocations bounds the allocations of decoding
// a text-only request (a system prompt and two string turns): string
// contents are read without encoding/json when they have no escapes, and
// a message's JSON path is spelt out only for an error.
func TestDecodeMessagesRequestAllocations(t *testing.T) {
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":64,"system":"You are a concise assistant.",` +
		`"messages":[{"role":"user","content":"Write one short sentence about the weather in Lisbon."},` +
		`{"role":"assistant","content":"It is sunny."},{"role":"user","content":"And tomorrow?"}]}`)
	n := testing.AllocsPerRun(100, func() {
		if _, err := DecodeMessagesRequest(body); err != nil {
			t.Fatal(err)
		}
	})
	// 41 before; what is left is mostly the top level's encoding/json.
	if n > 34 {
		t.Errorf("DecodeMessagesRequest allocates %.0f times, want at most 34", n)
	}
}
