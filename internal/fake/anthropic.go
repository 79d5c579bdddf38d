package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"
)

// Anthropic plays the Anthropic Messages API as documented at
// https://docs.anthropic.com/en/api/messages: POST /v1/messages (whole and
// streamed) and GET /v1/models, with Anthropic's error bodies
// ({"type":"error","error":{"type","message"},"request_id"}).
//
// Authentication is the API's: x-api-key must be APIKey (Authorization:
// Bearer APIKey is accepted too, as Anthropic does for OAuth clients);
// anything else is a 401 authentication_error.
//
// Streams follow https://docs.anthropic.com/en/api/messages-streaming:
// message_start (usage with input_tokens and output_tokens 1), then per
// block content_block_start, a ping after the first one, deltas and
// content_block_stop, then message_delta (stop_reason, usage with only
// output_tokens) and message_stop. Tool input arrives as input_json_delta
// pieces, the first one empty, as the real API sends. The "[[503]]"
// scenario answers 529 overloaded_error, Anthropic's status for it.
type Anthropic struct {
	Server *httptest.Server
	// URL is the API root including /v1, what an anthropic provider's
	// base_url is set to.
	URL string
	Log Log

	n atomic.Int64 // numbers message ids
}

// AnthropicModels are the models GET /v1/models lists.
var AnthropicModels = []string{"claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"}

// NewAnthropic starts a fake Anthropic API on 127.0.0.1.
func NewAnthropic() *Anthropic {
	a := &Anthropic{}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	a.URL = a.Server.URL + "/v1"
	return a
}

// Close shuts the server down.
func (a *Anthropic) Close() { a.Server.Close() }

// anthropicRequest is the part of a Messages request the fake reads.
type anthropicRequest struct {
	Model     string `json:"model"`
	MaxTokens *int   `json:"max_tokens"`
	Stream    bool   `json:"stream"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
	// Thinking with type "enabled" (a budget) makes the answer start
	// with a signed thinking block (and, for "[[redacted]]", a
	// redacted_thinking one), as Claude answers
	// (https://docs.claude.com/en/docs/build-with-claude/extended-thinking).
	Thinking *struct {
		Type string `json:"type"`
	} `json:"thinking"`
	// OutputConfig.Format is structured output
	// (https://docs.claude.com/en/docs/build-with-claude/structured-outputs).
	OutputConfig *struct {
		Format *struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"output_config"`
}

// answer is the text of a text answer: SchemaAnswer when
// output_config.format asks for a JSON schema.
func (r *anthropicRequest) answer(text string) string {
	if oc := r.OutputConfig; oc != nil && oc.Format != nil && oc.Format.Type == "json_schema" {
		return SchemaAnswer(oc.Format.Schema, text)
	}
	return text
}

type anthropicBlock struct {
	Type      string          `json:"type"`
	Signature *string         `json:"signature"`
	Text      string          `json:"text"`
	Content   json.RawMessage `json:"content"`
}

func (a *Anthropic) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.Log.Add(Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	w.Header().Set("request-id", "req_fake")
	if r.Header.Get("x-api-key") != APIKey && r.Header.Get("Authorization") != "Bearer "+APIKey {
		anthropicError(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		anthropicModels(w)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages":
		a.messages(w, r, body)
	default:
		anthropicError(w, http.StatusNotFound, "not_found_error", "Not found")
	}
}

func (a *Anthropic) messages(w http.ResponseWriter, r *http.Request, body []byte) {
	var req anthropicRequest
	if err := json.Unmarshal(body, &req); err != nil {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "Could not parse request body as JSON")
		return
	}
	switch {
	case req.Model == "":
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "model: Field required")
		return
	case req.MaxTokens == nil:
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "max_tokens: Field required")
		return
	case len(req.Messages) == 0:
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "messages: at least one message is required")
		return
	}
	// A prompt over the model's context window is refused before
	// anything else (https://docs.claude.com/en/api/errors).
	if n := estimateTokens(body); n > AnthropicContextWindow {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error",
			fmt.Sprintf("prompt is too long: %d tokens > %d maximum", n, AnthropicContextWindow))
		return
	}
	// Anthropic verifies the signature of every thinking block sent back
	// and rejects one that has none.
	for i, m := range req.Messages {
		var blocks []anthropicBlock
		_ = json.Unmarshal(m.Content, &blocks)
		for j, bl := range blocks {
			if bl.Type == "thinking" && (bl.Signature == nil || *bl.Signature == "") {
				anthropicError(w, http.StatusBadRequest, "invalid_request_error",
					fmt.Sprintf("messages.%d.content.%d: Invalid `signature` in `thinking` block", i, j))
				return
			}
		}
	}
	thinks := req.Thinking != nil && req.Thinking.Type == "enabled"
	if msg := anthropicThinkingTurn(&req, thinks); msg != "" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", msg)
		return
	}
	// The scenario is read from the last message that is not a system
	// instruction: agents append system messages after the user's turn.
	last := req.Messages[len(req.Messages)-1]
	for i := len(req.Messages) - 1; i > 0 && isSystemRole(last.Role); i-- {
		last = req.Messages[i-1]
	}
	text, toolResult := anthropicLastText(last.Content)

	switch {
	case strings.Contains(text, "[[429]]"):
		w.Header().Set("Retry-After", "1")
		w.Header().Set("anthropic-ratelimit-requests-remaining", "0")
		anthropicError(w, http.StatusTooManyRequests, "rate_limit_error",
			"Number of request tokens has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.")
		return
	case strings.Contains(text, "[[500]]"):
		anthropicError(w, http.StatusInternalServerError, "api_error", "Internal server error")
		return
	case strings.Contains(text, "[[503]]"):
		anthropicError(w, 529, "overloaded_error", "Overloaded")
		return
	case strings.Contains(text, "[[400]]"):
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "messages.0.content: Input should be a valid list")
		return
	case strings.Contains(text, "[[slow]]"):
		select {
		case <-time.After(SlowDelay):
		case <-r.Context().Done():
			return
		}
	}

	id := fmt.Sprintf("msg_fake%04d", a.n.Add(1))
	var blocks []map[string]any
	stop := "end_turn"
	switch {
	case toolResult:
		blocks = []map[string]any{{"type": "text", "text": req.answer("Tool said: " + text)}}
	case last.Role == "user" && wantsCall(text, firstAnthropicTool(req)):
		name, args, _ := ToolCall(text, firstAnthropicTool(req))
		stop = "tool_use"
		blocks = []map[string]any{anthropicToolUse(id, 0, name, args)}
		if strings.Contains(text, "[[parallel]]") {
			blocks = append(blocks, anthropicToolUse(id, 1, name, ToolArgs2))
		}
	default:
		blocks = []map[string]any{{"type": "text", "text": req.answer(Reply(text))}}
	}
	if thinks {
		thought := []map[string]any{{"type": "thinking", "thinking": Thought(text), "signature": AnthropicSignature}}
		if strings.Contains(text, "[[redacted]]") {
			thought = append(thought, map[string]any{"type": "redacted_thinking", "data": AnthropicRedacted})
		}
		blocks = append(thought, blocks...)
	}
	if req.Stream {
		anthropicStream(w, id, req.Model, text, blocks, stop)
		return
	}
	anthropicMessage(w, id, req.Model, text, blocks, stop)
}

// AnthropicSignature signs the fake's thinking; AnthropicRedacted is the
// data of its redacted thinking.
const (
	AnthropicSignature = "ErUBCkYIBxgCIkBmYWtlLWFudGhyb3BpYy1zaWduYXR1cmU="
	AnthropicRedacted  = "EmwKAhgBEgyZmFrZS1yZWRhY3RlZA=="
)

// anthropicThinkingTurn checks, with thinking on, that the final
// assistant message, when it uses a tool, starts with its thinking:
// Claude's rule for a tool-use loop, in Anthropic's words.
func anthropicThinkingTurn(req *anthropicRequest, thinks bool) string {
	if !thinks {
		return ""
	}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role != "assistant" {
			continue
		}
		var blocks []anthropicBlock
		if json.Unmarshal(m.Content, &blocks) != nil || len(blocks) == 0 {
			return ""
		}
		if blocks[0].Type == "thinking" || blocks[0].Type == "redacted_thinking" {
			return ""
		}
		for _, bl := range blocks {
			if bl.Type == "tool_use" {
				return fmt.Sprintf("messages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found `%s`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking", i, blocks[0].Type)
			}
		}
		return ""
	}
	return ""
}

func firstAnthropicTool(req anthropicRequest) string {
	if len(req.Tools) == 0 {
		return ""
	}
	return req.Tools[0].Name
}

// anthropicLastText returns the text the scenario is read from: the last
// tool_result's text when the message carries tool results, else the
// message's text.
func anthropicLastText(content json.RawMessage) (text string, toolResult bool) {
	var s string
	if json.Unmarshal(content, &s) == nil {
		return s, false
	}
	var blocks []anthropicBlock
	_ = json.Unmarshal(content, &blocks)
	var b strings.Builder
	for _, bl := range blocks {
		switch bl.Type {
		case "text":
			if !toolResult {
				b.WriteString(bl.Text)
			}
		case "tool_result":
			toolResult = true
			b.Reset()
			if json.Unmarshal(bl.Content, &s) == nil {
				b.WriteString(s)
				continue
			}
			var inner []anthropicBlock
			_ = json.Unmarshal(bl.Content, &inner)
			for _, in := range inner {
				b.WriteString(in.Text)
			}
		}
	}
	return b.String(), toolResult
}

func anthropicToolUse(msgID string, i int, name, args string) map[string]any {
	return map[string]any{
		"type":  "tool_use",
		"id":    fmt.Sprintf("toolu_%s_%d", strings.TrimPrefix(msgID, "msg_"), i),
		"name":  name,
		"input": json.RawMessage(args),
	}
}

func anthropicUsage(output int) map[string]any {
	return map[string]any{
		"input_tokens":                InputTokens,
		"cache_creation_input_tokens": 0,
		"cache_read_input_tokens":     0,
		"output_tokens":               output,
		"service_tier":                "standard",
	}
}

func anthropicMessage(w http.ResponseWriter, id, model, text string, blocks []map[string]any, stop string) {
	msg := map[string]any{
		"id":            id,
		"type":          "message",
		"role":          "assistant",
		"model":         model,
		"content":       blocks,
		"stop_reason":   stop,
		"stop_sequence": nil,
		"usage":         anthropicUsage(OutputTokens),
	}
	b, _ := json.Marshal(msg)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.Contains(text, "[[malformed]]"):
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"id":"` + id + `","type":"message","content":[{"type":"text","te`))
	case strings.Contains(text, "[[cut]]"):
		// Promise the whole body, send half, drop the connection.
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b[:len(b)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	default:
		_, _ = w.Write(b)
	}
}

// anthropicStream writes the documented event sequence.
func anthropicStream(w http.ResponseWriter, id, model, text string, blocks []map[string]any, stop string) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	send := func(event string, data any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		fl.Flush()
	}
	start := anthropicUsage(1)
	send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": start,
	}})
	deltas := 0
	for i, bl := range blocks {
		var startBlock map[string]any
		var pieces []map[string]any
		switch bl["type"] {
		case "tool_use":
			startBlock = map[string]any{"type": "tool_use", "id": bl["id"], "name": bl["name"], "input": map[string]any{}}
			for _, p := range anthropicSplitArgs(string(bl["input"].(json.RawMessage))) {
				pieces = append(pieces, map[string]any{"type": "input_json_delta", "partial_json": p})
			}
		case "thinking":
			// Thinking deltas, then the signature that closes the block.
			startBlock = map[string]any{"type": "thinking", "thinking": "", "signature": ""}
			for _, p := range anthropicSplitWords(bl["thinking"].(string)) {
				pieces = append(pieces, map[string]any{"type": "thinking_delta", "thinking": p})
			}
			pieces = append(pieces, map[string]any{"type": "signature_delta", "signature": bl["signature"]})
		case "redacted_thinking":
			// Whole in its start event.
			startBlock = bl
		default:
			startBlock = map[string]any{"type": "text", "text": ""}
			for _, p := range anthropicSplitWords(bl["text"].(string)) {
				pieces = append(pieces, map[string]any{"type": "text_delta", "text": p})
			}
		}
		send("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": startBlock})
		if i == 0 {
			send("ping", map[string]any{"type": "ping"})
		}
		for _, p := range pieces {
			switch {
			case deltas == 1 && strings.Contains(text, "[[midstream-error]]"):
				send("error", map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": "Overloaded"}})
				return
			case deltas == 2 && strings.Contains(text, "[[cut]]"):
				panic(http.ErrAbortHandler)
			case deltas == 1 && strings.Contains(text, "[[malformed]]"):
				fmt.Fprintf(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":\"text_de\n\n", i)
				fl.Flush()
			}
			send("content_block_delta", map[string]any{"type": "content_block_delta", "index": i, "delta": p})
			deltas++
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
	}
	send("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": OutputTokens}})
	send("message_stop", map[string]any{"type": "message_stop"})
}

// anthropicSplitWords splits text into pieces that each end after a space,
// so the pieces concatenate back to text.
func anthropicSplitWords(text string) []string {
	var out []string
	for text != "" {
		i := strings.IndexByte(text, ' ')
		if i < 0 {
			out = append(out, text)
			break
		}
		out = append(out, text[:i+1])
		text = text[i+1:]
	}
	return out
}

// anthropicSplitArgs cuts tool input JSON into pieces the way Anthropic
// streams it: an empty first piece, then fragments that are not JSON on
// their own.
func anthropicSplitArgs(args string) []string {
	third := len(args) / 3
	return []string{"", args[:third], args[third : 2*third], args[2*third:]}
}

func anthropicModels(w http.ResponseWriter) {
	data := make([]map[string]any, len(AnthropicModels))
	for i, m := range AnthropicModels {
		data[i] = map[string]any{"type": "model", "id": m, "display_name": m, "created_at": "2025-09-29T00:00:00Z"}
	}
	b, _ := json.Marshal(map[string]any{
		"data": data, "has_more": false,
		"first_id": AnthropicModels[0], "last_id": AnthropicModels[len(AnthropicModels)-1],
	})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// anthropicError writes Anthropic's error body
// (https://docs.anthropic.com/en/api/errors).
func anthropicError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]any{
		"type":       "error",
		"error":      map[string]string{"type": typ, "message": msg},
		"request_id": "req_fake",
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
