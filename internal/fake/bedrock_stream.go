package fake

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// bedrockStream writes a ConverseStream answer as AWS event-stream
// messages: messageStart, per content block an optional contentBlockStart
// (tool use), contentBlockDelta pieces (text, tool input, or reasoning
// text then signature) and contentBlockStop, then
// messageStop and metadata (usage). Each payload carries Bedrock's "p"
// padding field.
func bedrockStream(w http.ResponseWriter, text string, blocks []map[string]any, stop string) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	enc := eventstream.NewEncoder()
	pad := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
	send := func(event string, payload map[string]any) {
		payload["p"] = pad[:len(event)%len(pad)]
		b, _ := json.Marshal(payload)
		msg := eventstream.Message{Payload: b}
		msg.Headers.Set(":event-type", eventstream.StringValue(event))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		_ = enc.Encode(w, msg)
		if fl != nil {
			fl.Flush()
		}
	}
	send("messageStart", map[string]any{"role": "assistant"})
	deltas := 0
	for i, bl := range blocks {
		if t, ok := bl["text"].(string); ok {
			for _, piece := range splitKeepSpaces(t) {
				deltas++
				switch {
				case deltas == 3 && strings.Contains(text, "[[cut]]"):
					return
				case deltas == 2 && strings.Contains(text, "[[malformed]]"):
					msg := eventstream.Message{Payload: []byte(`{"contentBlockIndex": 0, "delta": {"text": `)}
					msg.Headers.Set(":event-type", eventstream.StringValue("contentBlockDelta"))
					msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
					msg.Headers.Set(":message-type", eventstream.StringValue("event"))
					_ = enc.Encode(w, msg)
					return
				case deltas == 2 && strings.Contains(text, "[[midstream-error]]"):
					msg := eventstream.Message{Payload: []byte(`{"message":"Too many tokens, please wait before trying again."}`)}
					msg.Headers.Set(":exception-type", eventstream.StringValue("throttlingException"))
					msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
					msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
					_ = enc.Encode(w, msg)
					return
				}
				send("contentBlockDelta", map[string]any{"contentBlockIndex": i, "delta": map[string]any{"text": piece}})
			}
		} else if rc, ok := bl["reasoningContent"].(map[string]any); ok {
			// Reasoning streams as text pieces, then its signature;
			// redacted reasoning as one redactedContent delta.
			if rt, ok := rc["reasoningText"].(map[string]any); ok {
				for _, piece := range splitKeepSpaces(rt["text"].(string)) {
					send("contentBlockDelta", map[string]any{"contentBlockIndex": i, "delta": map[string]any{"reasoningContent": map[string]any{"text": piece}}})
				}
				send("contentBlockDelta", map[string]any{"contentBlockIndex": i, "delta": map[string]any{"reasoningContent": map[string]any{"signature": rt["signature"]}}})
			} else {
				send("contentBlockDelta", map[string]any{"contentBlockIndex": i, "delta": map[string]any{"reasoningContent": map[string]any{"redactedContent": rc["redactedContent"]}}})
			}
		} else if tu, ok := bl["toolUse"].(map[string]any); ok {
			send("contentBlockStart", map[string]any{"contentBlockIndex": i, "start": map[string]any{"toolUse": map[string]any{"toolUseId": tu["toolUseId"], "name": tu["name"]}}})
			for _, piece := range openaiSplitArgs(string(tu["input"].(json.RawMessage))) {
				send("contentBlockDelta", map[string]any{"contentBlockIndex": i, "delta": map[string]any{"toolUse": map[string]any{"input": piece}}})
			}
		}
		send("contentBlockStop", map[string]any{"contentBlockIndex": i})
	}
	send("messageStop", map[string]any{"stopReason": stop})
	send("metadata", map[string]any{
		"usage":   map[string]any{"inputTokens": InputTokens, "outputTokens": OutputTokens, "totalTokens": InputTokens + OutputTokens},
		"metrics": map[string]any{"latencyMs": 321},
	})
}
