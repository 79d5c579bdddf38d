package openai

import (
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// typicalRequest is a ~2 KB chat request: a system prompt, a few turns, a
// tool with a schema, sampling parameters.
var typicalRequest = []byte(`{"model":"gpt-4o-mini","messages":[` +
	`{"role":"system","content":"You are a helpful assistant for an online bookshop. Answer briefly and politely. If the customer asks about an order, call the lookup_order tool with the order number. Never reveal internal notes. Prices are in euros and include VAT."},` +
	`{"role":"user","content":"Hi! I ordered three books last week and only two arrived. The order number is 48213-A. Can you check what happened to the third one?"},` +
	`{"role":"assistant","content":null,"tool_calls":[{"id":"call_8f2a1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"48213-A\"}"}}]},` +
	`{"role":"tool","tool_call_id":"call_8f2a1","content":"{\"status\":\"partially_shipped\",\"items\":[{\"title\":\"The Name of the Rose\",\"shipped\":true},{\"title\":\"Foucault's Pendulum\",\"shipped\":true},{\"title\":\"Baudolino\",\"shipped\":false,\"eta\":\"2024-06-12\"}]}"},` +
	`{"role":"assistant","content":"Thanks for waiting! Two of your books shipped already. The third, Baudolino, was back-ordered and is expected to ship on 12 June. You will get a tracking e-mail as soon as it leaves our warehouse."},` +
	`{"role":"user","content":[{"type":"text","text":"Great, thank you. Could you also tell me whether you have the sequel to the second book in paperback, and how much it would cost with shipping to Lyon? I'd like it to arrive before the end of the month if possible."}]}],` +
	`"tools":[{"type":"function","function":{"name":"lookup_order","description":"Look up an order by its number and return its status and items.","parameters":{"type":"object","properties":{"order_id":{"type":"string","description":"The order number, e.g. 12345-A"}},"required":["order_id"],"additionalProperties":false},"strict":true}},` +
	`{"type":"function","function":{"name":"search_catalogue","description":"Search the catalogue by title, author or ISBN.","parameters":{"type":"object","properties":{"query":{"type":"string"},"format":{"type":"string","enum":["paperback","hardcover","ebook"]}},"required":["query"]}}}],` +
	`"tool_choice":"auto","temperature":0.3,"max_tokens":512,"user":"customer-1187","stream":true,"stream_options":{"include_usage":true}}`)

func BenchmarkDecodeChatRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(typicalRequest)))
	for b.Loop() {
		if _, err := DecodeChatRequest(typicalRequest); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeChatRequest(b *testing.B) {
	req, err := DecodeChatRequest(typicalRequest)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeChatRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeChatResponse(b *testing.B) {
	resp := &llm.ChatResponse{
		ID: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", Model: "gpt-4o-mini-2024-07-18", Created: 1741569952,
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, strings.Repeat("We do have it in paperback. ", 20)), FinishReason: llm.FinishStop}},
		Usage:   &llm.Usage{InputTokens: 512, OutputTokens: 140, CacheReadTokens: 256},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeChatResponse(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamEncoder encodes one token-sized chunk per iteration into
// a reused buffer, as the gateway does per flushed event.
func BenchmarkStreamEncoder(b *testing.B) {
	e := NewStreamEncoder("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "gpt-4o-mini", 1741569952, true)
	buf := e.Append(nil, &llm.Chunk{Role: llm.RoleAssistant})
	c := &llm.Chunk{Text: " paperback"}
	b.ReportAllocs()
	for b.Loop() {
		buf = e.Append(buf[:0], c)
	}
}

func BenchmarkStreamDecoder(b *testing.B) {
	data := []byte(`{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" paperback"},"logprobs":null,"finish_reason":null}],"usage":null}`)
	d := NewStreamDecoder()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := d.Process(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkUsage(b *testing.B) {
	for _, c := range []struct{ name, data string }{
		{"content", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" paperback"},"logprobs":null,"finish_reason":null}]}`},
		{"content_usage_null", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" paperback"},"logprobs":null,"finish_reason":null}],"usage":null}`},
		{"usage", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":512,"completion_tokens":140,"total_tokens":652,"prompt_tokens_details":{"cached_tokens":256,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`},
	} {
		data := []byte(c.data)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ChunkUsage(data)
			}
		})
	}
}
