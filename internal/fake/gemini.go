package fake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Gemini plays the Gemini API (v1beta) as documented at
// https://ai.google.dev/api: generateContent, streamGenerateContent (SSE
// with ?alt=sse, a JSON array without), batchEmbedContents and the model
// list, with Google's error envelope.
//
// Authentication is the API's: the key comes in x-goog-api-key or ?key=;
// a missing key is a 403 PERMISSION_DENIED, a wrong one a 400
// INVALID_ARGUMENT with reason API_KEY_INVALID (Gemini does not answer 401).
//
// Gemini sends a function call whole, in one part, so the "tools" scenario
// streams each call in its own chunk rather than in argument pieces. The
// first call carries thoughtSignature GeminiSignature, as Gemini 3 does.
// usageMetadata is on every stream chunk as a running total, like the real
// API.
type Gemini struct {
	Server *httptest.Server
	// URL is the API root including /v1beta, what a gemini provider's
	// base_url is set to.
	URL string
	Log Log
}

// GeminiSignature is the thought signature the fake puts on the first
// function call of an answer.
const GeminiSignature = "ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ=="

// GeminiModel is the modelVersion the fake reports.
const GeminiModel = "gemini-2.5-flash"

// NewGemini starts a fake Gemini API on 127.0.0.1.
func NewGemini() *Gemini {
	g := &Gemini{}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	g.URL = g.Server.URL + "/v1beta"
	return g
}

// Close shuts the server down.
func (g *Gemini) Close() { g.Server.Close() }

// geminiRequest is the part of a GenerateContentRequest the fake reads.
type geminiRequest struct {
	Contents []struct {
		Role  string `json:"role"`
		Parts []struct {
			Text             string `json:"text"`
			FunctionResponse *struct {
				Name     string          `json:"name"`
				Response json.RawMessage `json:"response"`
			} `json:"functionResponse"`
		} `json:"parts"`
	} `json:"contents"`
	Tools []struct {
		FunctionDeclarations []struct {
			Name string `json:"name"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	ToolConfig *struct {
		FunctionCallingConfig *struct {
			Mode string `json:"mode"`
		} `json:"functionCallingConfig"`
	} `json:"toolConfig"`
	GenerationConfig *struct {
		CandidateCount int `json:"candidateCount"`
		// ThinkingConfig.IncludeThoughts makes the answer start with a
		// thought part (Thought(text)), as thinking models answer
		// (https://ai.google.dev/gemini-api/docs/thinking#summaries).
		ThinkingConfig *struct {
			IncludeThoughts bool `json:"includeThoughts"`
		} `json:"thinkingConfig"`
		// ResponseJSONSchema (or the OpenAPI-subset ResponseSchema) with
		// responseMimeType application/json constrains the answer
		// (https://ai.google.dev/gemini-api/docs/structured-output).
		ResponseMimeType   string          `json:"responseMimeType"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
		ResponseSchema     json.RawMessage `json:"responseSchema"`
	} `json:"generationConfig"`
}

func (g *Gemini) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.Log.Add(Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})

	key := r.Header.Get("x-goog-api-key")
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	switch {
	case key == "":
		geminiError(w, http.StatusForbidden, "PERMISSION_DENIED",
			"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", "")
		return
	case key != APIKey:
		geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
			`{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}`)
		return
	}

	path := strings.TrimPrefix(r.URL.Path, "/v1beta/")
	if r.Method == http.MethodGet && path == "models" {
		geminiModels(w)
		return
	}
	model, method, ok := strings.Cut(strings.TrimPrefix(path, "models/"), ":")
	if r.Method != http.MethodPost || !strings.HasPrefix(path, "models/") || !ok {
		geminiError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.", "")
		return
	}
	switch method {
	case "generateContent":
		g.generate(w, r, body, model, false)
	case "streamGenerateContent":
		g.generate(w, r, body, model, true)
	case "batchEmbedContents":
		geminiEmbed(w, body, model)
	default:
		geminiError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.", "")
	}
}

func (g *Gemini) generate(w http.ResponseWriter, r *http.Request, body []byte, model string, stream bool) {
	var req geminiRequest
	if err := json.Unmarshal(body, &req); err != nil || len(req.Contents) == 0 {
		geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.", "")
		return
	}
	if tc := req.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		// The modes both the Gemini API and Vertex AI's v1 API document
		// (https://ai.google.dev/api/caching#Mode).
		switch m := tc.FunctionCallingConfig.Mode; m {
		case "", "MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED":
		default:
			geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT",
				"Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.cloud.aiplatform.v1.FunctionCallingConfig.Mode), \""+m+"\"", "")
			return
		}
	}
	last := req.Contents[len(req.Contents)-1]
	var text, toolResult string
	isToolResult := false
	for _, p := range last.Parts {
		text += p.Text
		if p.FunctionResponse != nil {
			isToolResult = true
			var res struct {
				Result *string `json:"result"`
				Error  *string `json:"error"`
			}
			_ = json.Unmarshal(p.FunctionResponse.Response, &res)
			switch {
			case res.Result != nil:
				toolResult += *res.Result
			case res.Error != nil:
				toolResult += *res.Error
			default:
				toolResult += string(p.FunctionResponse.Response)
			}
		}
	}
	scenario := text
	if isToolResult {
		scenario = toolResult
	}
	switch {
	case strings.Contains(scenario, "[[429]]"):
		w.Header().Set("Retry-After", "1")
		geminiError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED",
			"You exceeded your current quota, please check your plan and billing details.",
			`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}`)
		return
	case strings.Contains(scenario, "[[500]]"):
		geminiError(w, http.StatusInternalServerError, "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", "")
		return
	case strings.Contains(scenario, "[[503]]"):
		geminiError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "The model is overloaded. Please try again later.", "")
		return
	case strings.Contains(scenario, "[[400]]"):
		geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Request contains an invalid argument.", "")
		return
	case strings.Contains(scenario, "[[slow]]"):
		select {
		case <-time.After(SlowDelay):
		case <-r.Context().Done():
			return
		}
	}
	malformed := strings.Contains(scenario, "[[malformed]]")
	var thought map[string]any
	if gc := req.GenerationConfig; gc != nil && gc.ThinkingConfig != nil && gc.ThinkingConfig.IncludeThoughts {
		thought = map[string]any{"text": Thought(scenario), "thought": true}
	}
	usage := func(out int) map[string]any {
		u := geminiUsage(out)
		if thought != nil {
			u["thoughtsTokenCount"] = ReasoningTokens
			u["totalTokenCount"] = InputTokens + out + ReasoningTokens
		}
		return u
	}

	// The answer: function calls, or text split into pieces.
	var calls []map[string]any
	var pieces []string
	first := ""
	if len(req.Tools) > 0 && len(req.Tools[0].FunctionDeclarations) > 0 {
		first = req.Tools[0].FunctionDeclarations[0].Name
	}
	if !isToolResult && wantsCall(text, first) {
		name, args, _ := ToolCall(text, first)
		calls = append(calls, map[string]any{"functionCall": map[string]any{"name": name, "args": json.RawMessage(args)}, "thoughtSignature": GeminiSignature})
		if strings.Contains(text, "[[parallel]]") {
			calls = append(calls, map[string]any{"functionCall": map[string]any{"name": name, "args": json.RawMessage(ToolArgs2)}})
		}
	} else {
		answer := Reply(text)
		if isToolResult {
			answer = "Tool said: " + toolResult
		}
		if gc := req.GenerationConfig; gc != nil && gc.ResponseMimeType == "application/json" {
			if s := cmpOr(gc.ResponseJSONSchema, gc.ResponseSchema); s != nil {
				answer = SchemaAnswer(s, answer)
			}
		}
		pieces = splitKeepSpaces(answer)
	}

	if !stream {
		if malformed {
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			_, _ = io.WriteString(w, `{"candidates": [{"content": {`)
			return
		}
		n := 1
		if req.GenerationConfig != nil && req.GenerationConfig.CandidateCount > 1 {
			n = req.GenerationConfig.CandidateCount
		}
		parts := make([]any, 0, len(calls)+2)
		if thought != nil {
			parts = append(parts, thought)
		}
		for _, c := range calls {
			parts = append(parts, c)
		}
		if len(pieces) > 0 {
			parts = append(parts, map[string]any{"text": strings.Join(pieces, "")})
		}
		cands := make([]any, n)
		for i := range cands {
			cands[i] = map[string]any{"content": map[string]any{"parts": parts, "role": "model"}, "finishReason": "STOP", "index": i}
		}
		b, _ := json.Marshal(map[string]any{
			"candidates":    cands,
			"usageMetadata": usage(OutputTokens),
			"modelVersion":  GeminiModel,
			"responseId":    "fake-response-id",
		})
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		if strings.Contains(scenario, "[[cut]]") {
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			_, _ = w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		_, _ = w.Write(b)
		return
	}

	// Streams: one chunk per piece (or per call), usage a running total.
	var chunks []map[string]any
	if thought != nil {
		chunks = append(chunks, map[string]any{"candidates": []any{map[string]any{"content": map[string]any{"parts": []any{thought}, "role": "model"}, "index": 0}}})
	}
	for _, c := range calls {
		chunks = append(chunks, map[string]any{"candidates": []any{map[string]any{"content": map[string]any{"parts": []any{c}, "role": "model"}, "index": 0}}})
	}
	for _, p := range pieces {
		chunks = append(chunks, map[string]any{"candidates": []any{map[string]any{"content": map[string]any{"parts": []any{map[string]any{"text": p}}, "role": "model"}, "index": 0}}})
	}
	for i, c := range chunks {
		c["usageMetadata"] = usage(OutputTokens * (i + 1) / len(chunks))
		c["modelVersion"] = GeminiModel
		c["responseId"] = "fake-response-id"
	}
	chunks[len(chunks)-1]["candidates"].([]any)[0].(map[string]any)["finishReason"] = "STOP"

	sseMode := r.URL.Query().Get("alt") == "sse"
	if sseMode {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	}
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	send := func(i int, data []byte) {
		if sseMode {
			_, _ = fmt.Fprintf(w, "data: %s\r\n\r\n", data)
		} else {
			sep := ",\r\n"
			if i == 0 {
				sep = "["
			}
			_, _ = fmt.Fprintf(w, "%s%s", sep, data)
		}
		fl.Flush()
	}
	for i, c := range chunks {
		switch {
		case malformed:
			send(i, []byte(`{"candidates": [{"content": {`))
			return
		case strings.Contains(scenario, "[[cut]]") && i == 2:
			panic(http.ErrAbortHandler)
		case strings.Contains(scenario, "[[midstream-error]]") && i == 1:
			send(i, []byte(`{"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}}`))
			return
		}
		b, _ := json.Marshal(c)
		send(i, b)
	}
	if !sseMode {
		_, _ = io.WriteString(w, "]")
	}
}

func geminiUsage(out int) map[string]any {
	return map[string]any{
		"promptTokenCount":     InputTokens,
		"candidatesTokenCount": out,
		"totalTokenCount":      InputTokens + out,
		"promptTokensDetails":  []any{map[string]any{"modality": "TEXT", "tokenCount": InputTokens}},
	}
}

// geminiEmbed answers batchEmbedContents with deterministic vectors (8
// dimensions unless outputDimensionality says otherwise).
func geminiEmbed(w http.ResponseWriter, body []byte, model string) {
	var req struct {
		Requests []struct {
			Model   string `json:"model"`
			Content struct {
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"content"`
			OutputDimensionality int `json:"outputDimensionality"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Requests) == 0 {
		geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.", "")
		return
	}
	embs := make([]any, len(req.Requests))
	for i, r := range req.Requests {
		if r.Model != "models/"+model {
			geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT",
				fmt.Sprintf("Model name in request %d (%s) does not match the batch model (models/%s).", i, r.Model, model), "")
			return
		}
		var text string
		for _, p := range r.Content.Parts {
			text += p.Text
		}
		embs[i] = map[string]any{"values": HashVector(text, cmp.Or(r.OutputDimensionality, 8))}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"embeddings": embs})
}

func geminiModels(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = io.WriteString(w, `{"models": [
  {"name": "models/gemini-2.5-flash", "version": "001", "displayName": "Gemini 2.5 Flash", "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
   "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"], "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2, "thinking": true},
  {"name": "models/gemini-embedding-001", "version": "001", "displayName": "Gemini Embedding 001", "inputTokenLimit": 2048, "outputTokenLimit": 1,
   "supportedGenerationMethods": ["embedContent", "countTextTokens", "countTokens", "asyncBatchEmbedContent"]}
]}
`)
}

// geminiError writes Google's error envelope; detail, when set, is one
// raw JSON object for error.details.
func geminiError(w http.ResponseWriter, code int, status, msg, detail string) {
	details := ""
	if detail != "" {
		details = `, "details": [` + detail + `]`
	}
	m, _ := json.Marshal(msg)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, `{"error": {"code": %d, "message": %s, "status": %q%s}}`+"\n", code, m, status, details)
}

// splitKeepSpaces splits s after each space, so the pieces join back to s.
func splitKeepSpaces(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// HashVector is the deterministic embedding the fakes return for text: dims
// values in [-1, 1) derived from an FNV hash of the text.
func HashVector(text string, dims int) []float32 {
	h := fnv.New64a()
	_, _ = io.WriteString(h, text)
	x := h.Sum64()
	v := make([]float32, dims)
	for i := range v {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v[i] = float32(x%2000)/1000 - 1
	}
	return v
}
