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
		"safe_prompt": true, "prediction": true, "prompt_mode": true,
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
		body, _ = json.Marshal(req)
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
