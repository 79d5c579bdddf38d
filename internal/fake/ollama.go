package fake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// Ollama plays Ollama's native API as documented in
// https://github.com/ollama/ollama/blob/main/docs/api.md: /api/chat
// (NDJSON stream by default, one JSON object with "stream": false),
// /api/embed and /api/tags, with {"error": "..."} bodies.
//
// Ollama has no authentication, so the fake accepts every request. It
// sends a tool call whole in one line, as Ollama does, so the "tools"
// scenario streams each call in its own line rather than in argument
// pieces; calls carry an id and function.index like Ollama 0.12+.
type Ollama struct {
	Server *httptest.Server
	// URL is the server root, what an ollama provider's base_url is set to.
	URL string
	Log Log
}

// OllamaModels are the models /api/tags lists.
var OllamaModels = []string{"llama3.2:latest", "nomic-embed-text:latest"}

// NewOllama starts a fake Ollama server on 127.0.0.1.
func NewOllama() *Ollama {
	o := &Ollama{}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	o.URL = o.Server.URL
	return o
}

// Close shuts the server down.
func (o *Ollama) Close() { o.Server.Close() }

func (o *Ollama) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	o.Log.Add(Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/chat":
		o.chat(w, r, body)
	case r.Method == http.MethodPost && r.URL.Path == "/api/embed":
		ollamaEmbed(w, body)
	case r.Method == http.MethodGet && r.URL.Path == "/api/tags":
		ollamaTags(w)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "404 page not found")
	}
}

type ollamaChatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	Stream *bool `json:"stream"`
	// Think asks a thinking model to think (true or an effort level).
	Think json.RawMessage `json:"think"`
	// Format is "json" or a JSON schema the answer must match
	// (https://docs.ollama.com/capabilities/structured-outputs).
	Format json.RawMessage `json:"format"`
}

// OllamaThinks reports whether the fake plays model as a thinking model
// (qwen3, deepseek-r1, gpt-oss): think: true then streams
// message.thinking (Thought(text)) before the content, and any other
// model refuses think: true with Ollama's 400 ("... does not support
// thinking"), https://docs.ollama.com/capabilities/thinking.
func OllamaThinks(model string) bool {
	for _, p := range [...]string{"qwen3", "deepseek-r1", "gpt-oss"} {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}

func (o *Ollama) chat(w http.ResponseWriter, r *http.Request, body []byte) {
	var req ollamaChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		ollamaError(w, http.StatusBadRequest, "invalid character in request body")
		return
	}
	if req.Model == "" {
		ollamaError(w, http.StatusBadRequest, "model is required")
		return
	}
	if len(req.Messages) == 0 {
		ollamaError(w, http.StatusBadRequest, "messages are required")
		return
	}
	// The scenario is read from the last message that is not a system
	// instruction: agents append system messages after the user's turn.
	last := req.Messages[len(req.Messages)-1]
	for i := len(req.Messages) - 1; i > 0 && isSystemRole(last.Role); i-- {
		last = req.Messages[i-1]
	}
	isToolResult := last.Role == "tool"
	text := last.Content
	switch {
	case strings.Contains(text, "[[429]]"):
		w.Header().Set("Retry-After", "1")
		ollamaError(w, http.StatusTooManyRequests, "rate limit exceeded")
		return
	case strings.Contains(text, "[[500]]"):
		ollamaError(w, http.StatusInternalServerError, "llama runner process has terminated: exit status 2")
		return
	case strings.Contains(text, "[[503]]"):
		ollamaError(w, http.StatusServiceUnavailable, "server busy, please try again.  maximum pending requests exceeded")
		return
	case strings.Contains(text, "[[400]]"):
		ollamaError(w, http.StatusBadRequest, "invalid options")
		return
	case strings.Contains(text, "[[slow]]"):
		select {
		case <-time.After(SlowDelay):
		case <-r.Context().Done():
			return
		}
	}
	thinks := len(req.Think) > 0 && string(req.Think) != "false" && string(req.Think) != "null"
	if thinks && !OllamaThinks(req.Model) {
		ollamaError(w, http.StatusBadRequest, strconv.Quote(req.Model)+" does not support thinking")
		return
	}
	stream := req.Stream == nil || *req.Stream
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Format(time.RFC3339Nano)
	line := func(msg map[string]any) map[string]any {
		return map[string]any{"model": req.Model, "created_at": now, "message": msg, "done": false}
	}
	var lines []map[string]any
	var calls []any
	var thought string
	if thinks {
		thought = Thought(text)
		for _, p := range splitKeepSpaces(thought) {
			lines = append(lines, line(map[string]any{"role": "assistant", "content": "", "thinking": p}))
		}
	}
	first := ""
	if len(req.Tools) > 0 {
		first = req.Tools[0].Function.Name
	}
	if !isToolResult && wantsCall(text, first) {
		name, args, _ := ToolCall(text, first)
		calls = append(calls, map[string]any{"id": "call_ollama_1", "function": map[string]any{"index": 0, "name": name, "arguments": json.RawMessage(args)}})
		if strings.Contains(text, "[[parallel]]") {
			calls = append(calls, map[string]any{"id": "call_ollama_2", "function": map[string]any{"index": 1, "name": name, "arguments": json.RawMessage(ToolArgs2)}})
		}
		for _, c := range calls {
			lines = append(lines, line(map[string]any{"role": "assistant", "content": "", "tool_calls": []any{c}}))
		}
	} else {
		answer := Reply(text)
		if isToolResult {
			answer = "Tool said: " + text
		}
		if len(req.Format) > 0 && req.Format[0] == '{' {
			answer = SchemaAnswer(req.Format, answer)
		}
		for _, p := range splitKeepSpaces(answer) {
			lines = append(lines, line(map[string]any{"role": "assistant", "content": p}))
		}
	}
	final := line(map[string]any{"role": "assistant", "content": ""})
	final["done"] = true
	final["done_reason"] = "stop"
	final["total_duration"] = 4883583458
	final["load_duration"] = 1334875
	final["prompt_eval_count"] = InputTokens
	final["prompt_eval_duration"] = 342546000
	final["eval_count"] = OutputTokens
	final["eval_duration"] = 4535599000

	malformed := strings.Contains(text, "[[malformed]]")
	if !stream {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if malformed {
			_, _ = io.WriteString(w, `{"model": "`+req.Model+`", "message": {`)
			return
		}
		var content strings.Builder
		for _, l := range lines {
			content.WriteString(l["message"].(map[string]any)["content"].(string))
		}
		msg := map[string]any{"role": "assistant", "content": content.String()}
		if thought != "" {
			msg["thinking"] = thought
		}
		if len(calls) > 0 {
			msg["tool_calls"] = calls
		}
		final["message"] = msg
		b, _ := json.Marshal(final)
		if strings.Contains(text, "[[cut]]") {
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			_, _ = w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		_, _ = w.Write(b)
		return
	}

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	for i, l := range append(lines, final) {
		switch {
		case malformed:
			_, _ = io.WriteString(w, "{\"model\": \"broken\n")
			fl.Flush()
			return
		case strings.Contains(text, "[[cut]]") && i == 2:
			panic(http.ErrAbortHandler)
		case strings.Contains(text, "[[midstream-error]]") && i == 1:
			_, _ = io.WriteString(w, `{"error":"an error was encountered while running the model: unexpected EOF"}`+"\n")
			fl.Flush()
			return
		}
		b, _ := json.Marshal(l)
		_, _ = w.Write(append(b, '\n'))
		fl.Flush()
	}
}

// ollamaEmbed answers /api/embed with HashVector vectors (8 dimensions
// unless "dimensions" says otherwise).
func ollamaEmbed(w http.ResponseWriter, body []byte) {
	var req struct {
		Model      string          `json:"model"`
		Input      json.RawMessage `json:"input"`
		Dimensions int             `json:"dimensions"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Model == "" {
		ollamaError(w, http.StatusBadRequest, "invalid request")
		return
	}
	var inputs []string
	if err := json.Unmarshal(req.Input, &inputs); err != nil {
		var one string
		if err := json.Unmarshal(req.Input, &one); err != nil {
			ollamaError(w, http.StatusBadRequest, "invalid input type")
			return
		}
		inputs = []string{one}
	}
	embs := make([][]float32, len(inputs))
	for i, in := range inputs {
		embs[i] = HashVector(in, cmp.Or(req.Dimensions, 8))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"model": req.Model, "embeddings": embs,
		"total_duration": 14143917, "load_duration": 1019500, "prompt_eval_count": InputTokens,
	})
}

func ollamaTags(w http.ResponseWriter) {
	models := make([]any, len(OllamaModels))
	for i, m := range OllamaModels {
		models[i] = map[string]any{
			"name": m, "model": m, "modified_at": "2025-01-02T03:04:05.000000000Z", "size": 2019393189,
			"digest":  "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
			"details": map[string]any{"parent_model": "", "format": "gguf", "family": "llama", "families": []string{"llama"}, "parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"models": models})
}

func ollamaError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
