package fake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
)

// GeminiSigned plays a Gemini 3 model's thought signatures as
// https://ai.google.dev/gemini-api/docs/thought-signatures describes
// them, strictly: every answer that calls a function signs its first
// functionCall part with a signature of its own (a sibling
// "thoughtSignature" of "functionCall", in the one part of a streamed
// answer too), and a request that sends function responses back must
// carry, on the first function call of every model turn of the current
// turn (the steps since the last user text), the signature issued for
// it, or the documented placeholder "skip_thought_signature_validator". A
// missing one is refused as Gemini 3 refuses it (400 INVALID_ARGUMENT),
// an unknown one as corrupted.
//
// A function result containing "[[again]]" is answered with another
// function call (a multi-step turn). Answers are shaped as https://ai.google.dev/api/generate-content shows:
// generateContent returns a GenerateContentResponse, and
// streamGenerateContent?alt=sse the same object in SSE data lines.
type GeminiSigned struct {
	Server *httptest.Server
	// URL is the API root including /v1beta.
	URL string

	mu     sync.Mutex // guards the following fields
	n      int
	issued map[string]bool
	got    []string
	run    []string
}

// GeminiPlaceholder is the placeholder signature Google documents for
// function calls whose real signature is not known.
const GeminiPlaceholder = "skip_thought_signature_validator"

// NewGeminiSigned starts it on 127.0.0.1.
func NewGeminiSigned() *GeminiSigned {
	g := &GeminiSigned{issued: map[string]bool{}}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	g.URL = g.Server.URL + "/v1beta"
	return g
}

// Close shuts the server down.
func (g *GeminiSigned) Close() { g.Server.Close() }

// Issued reports whether sig is a signature the fake handed out.
func (g *GeminiSigned) Issued(sig string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.issued[sig]
}

// Got returns the signatures the accepted tool-result requests carried on
// their first function call, in order (GeminiPlaceholder for the
// placeholder).
func (g *GeminiSigned) Got() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.got...)
}

// GotRun returns the signatures the last accepted tool-result request
// carried on the first function call of each step of its current turn,
// oldest first.
func (g *GeminiSigned) GotRun() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.run...)
}

type signedRequest struct {
	Contents []struct {
		Role  string       `json:"role"`
		Parts []signedPart `json:"parts"`
	} `json:"contents"`
	Tools []struct {
		FunctionDeclarations []struct {
			Name string `json:"name"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
}

type signedPart struct {
	Text         string `json:"text"`
	FunctionCall *struct {
		Name string `json:"name"`
	} `json:"functionCall"`
	FunctionResponse *struct {
		Response struct {
			Result string `json:"result"`
		} `json:"response"`
	} `json:"functionResponse"`
	ThoughtSignature string `json:"thoughtSignature"`
}

func (g *GeminiSigned) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("x-goog-api-key") != APIKey {
		geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "")
		return
	}
	_, method, _ := strings.Cut(r.URL.Path, ":")
	stream := method == "streamGenerateContent"
	var req signedRequest
	if (method != "generateContent" && !stream) || json.Unmarshal(body, &req) != nil || len(req.Contents) == 0 {
		geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.", "")
		return
	}
	last := req.Contents[len(req.Contents)-1]
	var result string
	for _, p := range last.Parts {
		if p.FunctionResponse != nil {
			result += p.FunctionResponse.Response.Result
		}
	}
	var part map[string]any
	if result != "" {
		if msg := g.check(&req); msg != "" {
			geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg, "")
			return
		}
	}
	if result != "" && !strings.Contains(result, "[[again]]") {
		part = map[string]any{"text": "Tool said: " + result}
	} else {
		if len(req.Tools) == 0 || len(req.Tools[0].FunctionDeclarations) == 0 {
			geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "this fake only calls functions", "")
			return
		}
		g.mu.Lock()
		g.n++
		sig := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "gemini-3-thought-signature-%d", g.n))
		g.issued[sig] = true
		g.mu.Unlock()
		part = map[string]any{
			"functionCall":     map[string]any{"name": req.Tools[0].FunctionDeclarations[0].Name, "args": json.RawMessage(ToolArgs)},
			"thoughtSignature": sig,
		}
	}
	resp, _ := json.Marshal(map[string]any{
		"candidates": []any{map[string]any{
			"content":      map[string]any{"parts": []any{part}, "role": "model"},
			"finishReason": "STOP",
			"index":        0,
		}},
		"usageMetadata": map[string]any{"promptTokenCount": InputTokens, "candidatesTokenCount": OutputTokens,
			"thoughtsTokenCount": ReasoningTokens, "totalTokenCount": InputTokens + OutputTokens + ReasoningTokens},
		"modelVersion": "gemini-3-pro-preview",
		"responseId":   "resp-signed",
	})
	if stream {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: %s\r\n\r\n", resp)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(resp)
}

// check validates the first function call of each model turn of the
// current turn, and returns Gemini's error message ("" when valid).
func (g *GeminiSigned) check(req *signedRequest) string {
	if len(req.Contents) < 2 || req.Contents[len(req.Contents)-2].Role != "model" {
		return "Please ensure that function response turn comes immediately after a function call turn."
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var run []string
	for k := len(req.Contents) - 1; k >= 0; k-- {
		c := &req.Contents[k]
		if c.Role == "user" && slices.ContainsFunc(c.Parts, func(p signedPart) bool { return p.FunctionResponse == nil }) {
			break // the user's text starts the current turn
		}
		for i, p := range c.Parts {
			if p.FunctionCall == nil {
				continue
			}
			switch {
			case p.ThoughtSignature == "":
				return fmt.Sprintf("Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, "+
					"and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:%s` , position %d. "+
					"Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.", p.FunctionCall.Name, i+1)
			case p.ThoughtSignature != GeminiPlaceholder && !g.issued[p.ThoughtSignature]:
				return "Corrupted thought signature."
			}
			run = append([]string{p.ThoughtSignature}, run...)
			break
		}
	}
	if len(run) == 0 {
		return "Please ensure that function response turn comes immediately after a function call turn."
	}
	g.got = append(g.got, run[len(run)-1])
	g.run = run
	return ""
}
