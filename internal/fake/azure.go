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
	"sync/atomic"
	"time"
)

// Azure plays an Azure OpenAI resource as Microsoft's data-plane reference
// documents it: POST /openai/deployments/{deployment}/chat/completions and
// /embeddings with a required api-version query, the api-key header or an
// Entra ID bearer token, and Azure's content filter: prompt_filter_results
// and content_filter_results on answers (and a first stream chunk with no
// choices carrying the prompt's results), a filtered prompt refused with
// 400 code content_filter, and a filtered completion ending with
// finish_reason content_filter.
//
// It also plays the Microsoft Entra ID token endpoint
// (POST /{tenant}/oauth2/v2.0/token, client-credentials grant) at
// TokenURL; the tokens it issues are accepted as bearer tokens, as is
// AzureStaticToken.
//
// The Responses API is served where Azure serves it: POST
// /openai/v1/responses (the v1 API: no api-version, or api-version=preview)
// and POST /openai/responses?api-version=YYYY-MM-DD-preview (the earlier
// preview surface); in both the body's model is the deployment name, and
// the answer is OpenAI's Response object (the fake OpenAI API's, with the
// deployment's model). "[[filtered]]" in the input is refused like a chat
// prompt.
//
// Markers beyond the package convention: "[[filtered]]" (prompt refused),
// "[[filtered-output]]" (completion stopped by the filter). Answers
// themselves come from the fake OpenAI API, with the deployment's model.
type Azure struct {
	Server *httptest.Server
	// URL is the resource endpoint, what base_url is set to.
	URL string
	// Deployments maps deployment names to model names.
	Deployments map[string]string
	Log         Log

	inner  *OpenAI
	mu     sync.Mutex // guards tokens
	tokens map[string]bool
	issued atomic.Int64
}

// Entra ID credentials the fake token endpoint accepts.
const (
	AzureTenant       = "72f988bf-0000-4000-8000-fa7e00000000"
	AzureClientID     = "0b1f0000-fake-4000-8000-c11e47000000"
	AzureClientSecret = "fake~client~secret"
	// AzureStaticToken is a bearer token accepted without the token
	// endpoint (for token_env and token_command tests).
	AzureStaticToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-static.sig"
)

// NewAzure starts a fake Azure OpenAI resource with the given
// deployments (name -> model).
func NewAzure(deployments map[string]string) *Azure {
	a := &Azure{Deployments: deployments, inner: &OpenAI{}, tokens: map[string]bool{}}
	a.inner.Record(false)
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	a.URL = a.Server.URL
	return a
}

// Close shuts the server down.
func (a *Azure) Close() { a.Server.Close() }

// TokenURL is the fake Entra token endpoint of AzureTenant.
func (a *Azure) TokenURL() string { return a.URL + "/" + AzureTenant + "/oauth2/v2.0/token" }

// TokensIssued counts the tokens the token endpoint has issued.
func (a *Azure) TokensIssued() int { return int(a.issued.Load()) }

var azureVersion = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)

func (a *Azure) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.Log.Add(Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	w.Header().Set("apim-request-id", "fake-apim-0001")
	if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		a.token(w, r, body)
		return
	}
	if !a.authorized(r) {
		azureError(w, http.StatusUnauthorized, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
		return
	}
	if r.URL.Path == "/openai/v1/responses" || r.URL.Path == "/openai/responses" {
		a.responses(w, r, body)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/openai/deployments/")
	dep, op, _ := strings.Cut(rest, "/")
	if !ok || r.Method != http.MethodPost || (op != "chat/completions" && op != "embeddings") {
		azureError(w, http.StatusNotFound, "404", "Resource not found")
		return
	}
	if v := r.URL.Query().Get("api-version"); !azureVersion.MatchString(v) {
		azureError(w, http.StatusNotFound, "404", "Resource not found")
		return
	}
	model, ok := a.Deployments[dep]
	if !ok {
		azureError(w, http.StatusNotFound, "DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.")
		return
	}
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		azureError(w, http.StatusBadRequest, "BadRequest", "Your request is not valid JSON.")
		return
	}
	req["model"], _ = json.Marshal(model)
	body, _ = json.Marshal(req)
	inner := r.Clone(r.Context())
	inner.URL.Path = "/v1/" + op
	inner.Header.Set("Authorization", "Bearer "+APIKey)
	inner.Body = io.NopCloser(bytes.NewReader(body))
	if op == "embeddings" {
		a.inner.ServeHTTP(w, inner)
		return
	}
	var cr openaiRequest
	_ = json.Unmarshal(body, &cr)
	text := ""
	if n := len(cr.Messages); n > 0 {
		text = openaiText(cr.Messages[n-1].Content)
	}
	if !azureReasoningEffortOK(w, model, cr.ReasoningEffort) {
		return
	}
	// A reasoning model reasons whether asked or not (at its default
	// effort, medium) and reports it in usage; its reasoning text is not
	// returned by chat completions.
	reasoning := azureReasons(model) && (cr.ReasoningEffort == nil || *cr.ReasoningEffort != "none")
	switch {
	case strings.Contains(text, "[[filtered]]"):
		azureFiltered(w)
		return
	case strings.Contains(text, "[[429]]"):
		w.Header().Set("Retry-After", "1")
		w.Header().Set("x-ratelimit-remaining-requests", "0")
		azureError(w, http.StatusTooManyRequests, "429", "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "+r.URL.Query().Get("api-version")+" have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.")
		return
	case strings.Contains(text, "[[filtered-output]]"):
		azureFilteredOutput(w, &cr, model)
		return
	}
	if cr.Stream {
		a.inner.ServeHTTP(&azureStreamWriter{ResponseWriter: w, reasoning: reasoning}, inner)
		return
	}
	rec := httptest.NewRecorder()
	a.inner.ServeHTTP(rec, inner)
	out := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		var m map[string]any
		if json.Unmarshal(out, &m) == nil {
			m["prompt_filter_results"] = []any{map[string]any{"prompt_index": 0, "content_filter_results": azureFilterResults(false)}}
			if chs, ok := m["choices"].([]any); ok {
				for _, ch := range chs {
					if c, ok := ch.(map[string]any); ok {
						c["content_filter_results"] = azureFilterResults(false)
					}
				}
			}
			out, _ = json.Marshal(m)
		}
		if reasoning {
			out = azureReasoningUsage(out)
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(out)
}

// responses serves the Responses API: the v1 path takes no api-version
// (or "preview"), the preview path requires a dated preview version.
func (a *Azure) responses(w http.ResponseWriter, r *http.Request, body []byte) {
	v := r.URL.Query().Get("api-version")
	if r.Method != http.MethodPost ||
		r.URL.Path == "/openai/v1/responses" && v != "" && v != "preview" ||
		r.URL.Path == "/openai/responses" && !strings.HasSuffix(v, "-preview") {
		azureError(w, http.StatusNotFound, "404", "Resource not found")
		return
	}
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		azureError(w, http.StatusBadRequest, "BadRequest", "Your request is not valid JSON.")
		return
	}
	var dep string
	_ = json.Unmarshal(req["model"], &dep)
	model, ok := a.Deployments[dep]
	if !ok {
		azureError(w, http.StatusNotFound, "DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.")
		return
	}
	if strings.Contains(string(req["input"]), "[[filtered]]") {
		azureFiltered(w)
		return
	}
	req["model"], _ = json.Marshal(model)
	body, _ = json.Marshal(req)
	inner := r.Clone(r.Context())
	inner.URL.Path = "/v1/responses"
	inner.URL.RawQuery = ""
	inner.Header.Set("Authorization", "Bearer "+APIKey)
	inner.Body = io.NopCloser(bytes.NewReader(body))
	a.inner.ServeHTTP(w, inner)
}

func (a *Azure) authorized(r *http.Request) bool {
	if k := r.Header.Get("api-key"); k != "" {
		return k == APIKey
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return tok == AzureStaticToken || a.tokens[tok]
}

// token answers the client-credentials grant as Entra ID does.
func (a *Azure) token(w http.ResponseWriter, r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	_ = r.ParseForm()
	f := r.PostForm
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	fail := func(code, desc string) {
		status := http.StatusBadRequest
		if code == "invalid_client" {
			status = http.StatusUnauthorized
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc, "error_codes": []int{7000215}})
	}
	switch {
	case !strings.HasPrefix(r.URL.Path, "/"+AzureTenant+"/"):
		fail("invalid_request", "AADSTS90002: Tenant not found.")
	case f.Get("grant_type") != "client_credentials":
		fail("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	case f.Get("client_id") != AzureClientID || f.Get("client_secret") != AzureClientSecret:
		fail("invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
	case f.Get("scope") != "https://cognitiveservices.azure.com/.default":
		fail("invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid.")
	default:
		n := a.issued.Add(1)
		tok := fmt.Sprintf("eyJ0eXAiOiJKV1QifQ.fake-entra-%d-%d.sig", n, time.Now().UnixNano())
		a.mu.Lock()
		a.tokens[tok] = true
		a.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
	}
}

func azureFilterResults(hate bool) map[string]any {
	safe := map[string]any{"filtered": false, "severity": "safe"}
	h := safe
	if hate {
		h = map[string]any{"filtered": true, "severity": "high"}
	}
	return map[string]any{"hate": h, "self_harm": safe, "sexual": safe, "violence": safe,
		"jailbreak": map[string]any{"filtered": false, "detected": false}}
}

// azureFiltered refuses a prompt as Azure's content filter does.
func azureFiltered(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
		"type":    nil, "param": "prompt", "code": "content_filter", "status": 400,
		"innererror": map[string]any{"code": "ResponsibleAIPolicyViolation", "content_filter_result": azureFilterResults(true)},
	}})
}

// azureFilteredOutput answers with a completion the filter stopped.
func azureFilteredOutput(w http.ResponseWriter, req *openaiRequest, model string) {
	id := "chatcmpl-fakefiltered"
	if req.Stream {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range []string{
			`{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}`,
			fmt.Sprintf(`{"choices":[{"content_filter_results":{},"delta":{"role":"assistant","content":""},"finish_reason":null,"index":0}],"created":%d,"id":%q,"model":%q,"object":"chat.completion.chunk"}`, OpenAICreated, id, model),
			fmt.Sprintf(`{"choices":[{"content_filter_results":{"hate":{"filtered":true,"severity":"high"}},"delta":{},"finish_reason":"content_filter","index":0}],"created":%d,"id":%q,"model":%q,"object":"chat.completion.chunk"}`, OpenAICreated, id, model),
		} {
			_, _ = io.WriteString(w, "data: "+c+"\n\n")
		}
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
		return
	}
	openaiJSON(w, map[string]any{
		"id": id, "object": "chat.completion", "created": OpenAICreated, "model": model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "content_filter", "message": map[string]any{"role": "assistant", "content": nil},
			"content_filter_results": azureFilterResults(true)}},
		"usage":                 map[string]any{"prompt_tokens": InputTokens, "completion_tokens": 0, "total_tokens": InputTokens},
		"prompt_filter_results": []any{map[string]any{"prompt_index": 0, "content_filter_results": azureFilterResults(false)}},
	})
}

// azureStreamWriter puts Azure's first chunk (the prompt's filter results,
// with no choices) before the OpenAI fake's stream.
type azureStreamWriter struct {
	http.ResponseWriter
	status int
	done   bool
	// reasoning reports reasoning tokens in the usage chunk.
	reasoning bool
}

func (s *azureStreamWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *azureStreamWriter) Write(p []byte) (int, error) {
	if !s.done {
		s.done = true
		if (s.status == 0 || s.status == http.StatusOK) && strings.HasPrefix(s.Header().Get("Content-Type"), "text/event-stream") {
			_, _ = io.WriteString(s.ResponseWriter, `data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]}`+"\n\n")
		}
	}
	if s.reasoning {
		if _, err := s.ResponseWriter.Write(azureReasoningUsage(p)); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return s.ResponseWriter.Write(p)
}

// azureReasons reports whether a deployment's model takes reasoning_effort
// (https://learn.microsoft.com/azure/foundry/openai/how-to/reasoning): the
// o-series and gpt-5, not its chat snapshots.
func azureReasons(model string) bool {
	return (strings.HasPrefix(model, "o1") || strings.HasPrefix(model, "o3") || strings.HasPrefix(model, "o4") ||
		strings.HasPrefix(model, "gpt-5")) && !strings.Contains(model, "-chat")
}

// azureReasoningEffortOK answers reasoning_effort as Azure does: a model
// that does not reason refuses the parameter, a reasoning model the levels
// it does not have (o-series: low, medium, high; gpt-5 adds minimal;
// gpt-5.1 and later none and xhigh).
func azureReasoningEffortOK(w http.ResponseWriter, model string, effort *string) bool {
	if effort == nil {
		return true
	}
	if !azureReasons(model) {
		azureParamError(w, "Unsupported parameter: 'reasoning_effort' is not supported with this model.", "reasoning_effort", "unsupported_parameter")
		return false
	}
	levels := []string{"low", "medium", "high"}
	supported := "'low', 'medium', and 'high'"
	switch {
	case strings.HasPrefix(model, "gpt-5.") && !strings.HasPrefix(model, "gpt-5.0"):
		levels = append(levels, "none", "minimal", "xhigh")
		supported = "'none', 'minimal', 'low', 'medium', 'high', and 'xhigh'"
	case strings.HasPrefix(model, "gpt-5"):
		levels = append(levels, "minimal")
		supported = "'minimal', 'low', 'medium', and 'high'"
	}
	for _, l := range levels {
		if *effort == l {
			return true
		}
	}
	azureParamError(w, "Invalid value: '"+*effort+"'. Supported values are: "+supported+".", "reasoning_effort", "invalid_value")
	return false
}

// azureReasoningUsage reports ReasoningTokens in the usage of a chat
// completion or of the stream's usage chunk (the OpenAI fake writes one
// event per Write).
func azureReasoningUsage(p []byte) []byte {
	return bytes.Replace(p, []byte(`"reasoning_tokens":0`), []byte(`"reasoning_tokens":`+strconv.Itoa(ReasoningTokens)), 1)
}

// azureParamError writes the OpenAI-shaped error Azure returns for a
// parameter the model refuses.
func azureParamError(w http.ResponseWriter, msg, param, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "param": param, "code": code}})
}

func (s *azureStreamWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// azureError writes Azure's error object ({"error": {"code", "message"}}).
func azureError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
