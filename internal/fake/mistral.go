package fake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Mistral plays Mistral's La Plateforme chat API (POST
// /v1/chat/completions and /v1/embeddings, Bearer key) with the
// differences from OpenAI that matter to a gateway: tool call IDs are
// exactly nine characters of [a-zA-Z0-9] (in answers, and required in
// requests: anything else is a 400), unknown body fields such as seed,
// stream_options or user are a 422 extra_forbidden (Mistral calls the seed
// random_seed), usage is always sent at the end of a stream, and
// safe_prompt is accepted (SafePrompts counts the requests that set it).
// Answers come from the fake OpenAI API.
//
// Reasoning is played as Mistral's reasoning reference documents it
// (https://docs.mistral.ai/capabilities/reasoning/): magistral-* models
// always think; mistral-small-latest, mistral-small-2603 and
// mistral-medium-3-5 think for reasoning_effort "high" (and take "none"),
// mistral-large-4-* for "low", "medium" or "high". A thinking answer's
// content is a list, a thinking chunk ({"type":"thinking","thinking":
// [{"type":"text","text":Thought(text)}]}) before the text chunk; streamed,
// the thought comes first as deltas whose content is a one-chunk list,
// then the text as plain string deltas. Thinking chunks sent back in
// assistant messages must be well formed.
type Mistral struct {
	Server *httptest.Server
	// URL is the API root including /v1.
	URL string
	Log Log

	inner       *OpenAI
	mu          sync.Mutex
	safePrompts int
}

// NewMistral starts a fake Mistral API.
func NewMistral() *Mistral {
	m := &Mistral{inner: &OpenAI{}}
	m.inner.Record(false)
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	m.URL = m.Server.URL + "/v1"
	return m
}

// Close shuts the server down.
func (m *Mistral) Close() { m.Server.Close() }

// SafePrompts is how many requests set safe_prompt: true.
func (m *Mistral) SafePrompts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.safePrompts
}

var (
	mistralID       = regexp.MustCompile(`^[a-zA-Z0-9]{9}$`)
	mistralFakeCall = regexp.MustCompile(`call_fake(\d+)_(\d)`)
	mistralFields   = map[string]bool{
		"model": true, "messages": true, "temperature": true, "top_p": true, "max_tokens": true, "stream": true,
		"stop": true, "random_seed": true, "response_format": true, "tools": true, "tool_choice": true,
		"presence_penalty": true, "frequency_penalty": true, "n": true, "parallel_tool_calls": true,
		"safe_prompt": true, "prediction": true, "prompt_mode": true, "reasoning_effort": true,
	}
)

func (m *Mistral) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m.Log.Add(Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	if r.URL.Path == "/v1/chat/completions" && r.Method == http.MethodPost {
		var req map[string]json.RawMessage
		if json.Unmarshal(body, &req) != nil {
			mistralError(w, http.StatusBadRequest, "Invalid JSON body")
			return
		}
		for k := range req {
			if !mistralFields[k] {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnprocessableEntity)
				_, _ = fmt.Fprintf(w, `{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body",%q],"msg":"Extra inputs are not permitted","input":%s}]},"type":"invalid_request_error","param":null,"code":null}`, k, req[k])
				return
			}
		}
		var msgs []struct {
			ToolCalls []struct {
				ID string `json:"id"`
			} `json:"tool_calls"`
			ToolCallID *string `json:"tool_call_id"`
		}
		_ = json.Unmarshal(req["messages"], &msgs)
		for _, msg := range msgs {
			for _, tc := range msg.ToolCalls {
				if !mistralID.MatchString(tc.ID) {
					mistralError(w, http.StatusBadRequest, "Tool call id was "+tc.ID+" but must be a-z, A-Z, 0-9, with a length of 9.")
					return
				}
			}
			if msg.ToolCallID != nil && !mistralID.MatchString(*msg.ToolCallID) {
				mistralError(w, http.StatusBadRequest, "Tool call id was "+*msg.ToolCallID+" but must be a-z, A-Z, 0-9, with a length of 9.")
				return
			}
		}
		if string(req["safe_prompt"]) == "true" {
			m.mu.Lock()
			m.safePrompts++
			m.mu.Unlock()
		}
		delete(req, "safe_prompt")
		if seed, ok := req["random_seed"]; ok {
			req["seed"] = seed
			delete(req, "random_seed")
		}
		if string(req["stream"]) == "true" {
			req["stream_options"] = json.RawMessage(`{"include_usage":true}`)
		}
		var model, effort string
		_ = json.Unmarshal(req["model"], &model)
		_ = json.Unmarshal(req["reasoning_effort"], &effort)
		thinks, msg := mistralThinks(model, effort, req["reasoning_effort"] != nil)
		if msg != "" {
			mistralError(w, http.StatusBadRequest, msg)
			return
		}
		if msg := mistralCheckThinking(req["messages"]); msg != "" {
			mistralError(w, http.StatusBadRequest, msg)
			return
		}
		delete(req, "reasoning_effort")
		body, _ = json.Marshal(req)
		if thinks {
			m.serveThinking(w, r, body, string(req["stream"]) == "true")
			return
		}
	}
	inner := r.Clone(r.Context())
	inner.Body = io.NopCloser(bytes.NewReader(body))
	m.inner.ServeHTTP(&mistralWriter{ResponseWriter: w}, inner)
}

// mistralWriter rewrites the OpenAI fake's tool call IDs into Mistral's
// nine-character form.
type mistralWriter struct {
	http.ResponseWriter
	wrote bool
}

// WriteHeader drops Content-Length: the rewritten IDs are shorter.
func (mw *mistralWriter) WriteHeader(code int) {
	mw.wrote = true
	mw.Header().Del("Content-Length")
	mw.ResponseWriter.WriteHeader(code)
}

func (mw *mistralWriter) Write(p []byte) (int, error) {
	if !mw.wrote {
		mw.WriteHeader(http.StatusOK)
	}
	out := mistralFakeCall.ReplaceAllFunc(p, func(b []byte) []byte {
		sm := mistralFakeCall.FindSubmatch(b)
		n, _ := strconv.Atoi(string(sm[1]))
		return fmt.Appendf(nil, "f%06dc%s", n%1000000, sm[2])
	})
	if _, err := mw.ResponseWriter.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (mw *mistralWriter) Flush() {
	if f, ok := mw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func mistralError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"object": "error", "message": msg, "type": "invalid_request_error", "param": nil, "code": nil})
	_, _ = w.Write(b)
}

// mistralThinks reports whether a model thinks for a request's
// reasoning_effort, or the 400 for a level or model that does not take
// it. How Mistral answers reasoning_effort on a model outside its
// reasoning list is not documented; the fake refuses it, so that a
// gateway sending it there fails a test.
func mistralThinks(model, effort string, set bool) (bool, string) {
	var levels []string
	switch {
	case strings.HasPrefix(model, "magistral"):
		return true, ""
	case strings.HasPrefix(model, "mistral-large-4"):
		levels = []string{"low", "medium", "high"}
	case model == "mistral-small-latest", strings.HasPrefix(model, "mistral-small-2603"), strings.HasPrefix(model, "mistral-medium-3-5"):
		levels = []string{"none", "high"}
	}
	if !set {
		return false, ""
	}
	if levels == nil {
		return false, "Model " + model + " does not support reasoning_effort"
	}
	for _, l := range levels {
		if l == effort {
			return effort != "none", ""
		}
	}
	return false, "reasoning_effort must be one of " + strings.Join(levels, ", ") + " for model " + model + ", got " + effort
}

// mistralCheckThinking checks the thinking chunks of assistant messages
// sent back: each needs a "thinking" list of text chunks.
func mistralCheckThinking(raw json.RawMessage) string {
	var msgs []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	_ = json.Unmarshal(raw, &msgs)
	for i, msg := range msgs {
		var chunks []struct {
			Type     string `json:"type"`
			Thinking *[]struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"thinking"`
		}
		if msg.Role != "assistant" || json.Unmarshal(msg.Content, &chunks) != nil {
			continue
		}
		for j, c := range chunks {
			if c.Type != "thinking" {
				continue
			}
			if c.Thinking == nil || len(*c.Thinking) == 0 {
				return fmt.Sprintf("messages.%d.content.%d.thinking: Field required", i, j)
			}
			for _, t := range *c.Thinking {
				if t.Type != "text" {
					return fmt.Sprintf("messages.%d.content.%d.thinking: Input tag '%s' does not match the expected tag 'text'", i, j, t.Type)
				}
			}
		}
	}
	return ""
}

// serveThinking answers a thinking request: the OpenAI fake's answer,
// recorded, with the thought put first as Mistral puts it.
func (m *Mistral) serveThinking(w http.ResponseWriter, r *http.Request, body []byte, stream bool) {
	var req struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(body, &req)
	text := ""
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role != "system" {
			text = openaiText(req.Messages[i].Content)
			break
		}
	}
	thought := Thought(text)
	inner := r.Clone(r.Context())
	inner.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	m.inner.ServeHTTP(rec, inner)
	out := rec.Body.Bytes()
	mw := &mistralWriter{ResponseWriter: w}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	if rec.Code != http.StatusOK {
		mw.WriteHeader(rec.Code)
		_, _ = mw.Write(out)
		return
	}
	think := map[string]any{"type": "thinking", "thinking": []any{map[string]any{"type": "text", "text": thought}}}
	if !stream {
		var resp map[string]any
		if json.Unmarshal(out, &resp) == nil {
			for _, ch := range resp["choices"].([]any) {
				msg := ch.(map[string]any)["message"].(map[string]any)
				content := []any{think}
				if s, ok := msg["content"].(string); ok {
					content = append(content, map[string]any{"type": "text", "text": s})
				}
				msg["content"] = content
			}
			out, _ = json.Marshal(resp)
		}
		mw.WriteHeader(http.StatusOK)
		_, _ = mw.Write(out)
		return
	}
	mw.WriteHeader(http.StatusOK)
	events := strings.SplitAfter(string(out), "\n\n")
	// The thought in pieces comes first (the first piece with the role),
	// shaped as the answer's first chunk.
	var first map[string]any
	if json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(events[0], "data: "))), &first) == nil {
		for i, piece := range openaiSplitWords(thought) {
			delta := map[string]any{"content": []any{
				map[string]any{"type": "thinking", "thinking": []any{map[string]any{"type": "text", "text": piece}}}}}
			if i == 0 {
				delta["role"] = "assistant"
			}
			first["choices"] = []any{map[string]any{"index": 0, "delta": delta, "finish_reason": nil}}
			b, _ := json.Marshal(first)
			_, _ = mw.Write([]byte("data: " + string(b) + "\n\n"))
		}
	}
	for _, ev := range events {
		_, _ = mw.Write([]byte(ev))
	}
	mw.Flush()
}
