package fake

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// OpenAI plays the OpenAI API as documented at
// https://platform.openai.com/docs/api-reference: POST /v1/chat/completions
// (plain and streamed), POST /v1/embeddings (float and base64) and
// GET /v1/models, POST /v1/responses (openai_responses.go), POST
// /v1/completions (legacy, openai_completions.go), with OpenAI's
// error bodies
// ({"error":{"message","type","param","code"}}).
//
// Authentication is OpenAI's: Authorization: Bearer APIKey, else 401 with
// code invalid_api_key (or, without a key at all, code null).
//
// Streams look like OpenAI's: every chunk has the same id, created and
// model; the first delta carries role "assistant"; the finish reason comes
// in its own chunk with an empty delta; and only when the request asks for
// stream_options.include_usage does a last chunk with "choices": [] carry
// the usage (with "usage": null on the chunks before it).
//
// Embeddings are deterministic unit vectors of dimension 8 (or the
// request's "dimensions") derived from each input's text (OpenAIVector);
// prompt_tokens counts the inputs' words.
//
// The scenario markers of the package convention work in chat messages and
// in embeddings inputs alike.
type OpenAI struct {
	Server *httptest.Server
	// URL is the API root including /v1, what an openai provider's
	// base_url is set to.
	URL string
	Log Log

	seq       atomic.Int64
	noRecord  atomic.Bool
	reasoning atomic.Value // Reasoning
}

// OpenAICreated is the fixed "created" timestamp of every fake answer.
const OpenAICreated = 1700000000

// NewOpenAI starts a fake OpenAI API on 127.0.0.1.
func NewOpenAI() *OpenAI {
	f := &OpenAI{}
	f.Server = httptest.NewServer(f)
	f.URL = f.Server.URL + "/v1"
	return f
}

// Close shuts the server down.
func (f *OpenAI) Close() { f.Server.Close() }

// Record turns request recording on (the default) or off. Benchmarks turn
// it off so that the log does not grow without bound.
func (f *OpenAI) Record(on bool) { f.noRecord.Store(!on) }

// ServeHTTP answers one request; the fake can also be mounted on any
// listener (the benchmark harness does).
func (f *OpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !f.noRecord.Load() {
		f.Log.Add(Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	}
	n := f.seq.Add(1)
	w.Header().Set("x-request-id", "req_fake_"+strconv.FormatInt(n, 10))
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "":
		openaiError(w, http.StatusUnauthorized, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (i.e. username: YOUR_KEY) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.", "invalid_request_error", "", "")
		return
	case auth != "Bearer "+APIKey:
		openaiError(w, http.StatusUnauthorized, "Incorrect API key provided: "+maskKey(strings.TrimPrefix(auth, "Bearer "))+". You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "", "invalid_api_key")
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
		f.chat(w, r, body, n)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/completions":
		f.completions(w, r, body, n)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/responses":
		f.responses(w, r, body, n)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/embeddings":
		f.embeddings(w, r, body)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		openaiModels(w)
	default:
		openaiError(w, http.StatusNotFound, "Invalid URL ("+r.Method+" "+r.URL.Path+")", "invalid_request_error", "", "")
	}
}

// maskKey shows a wrong key the way OpenAI does: its start and its end.
func maskKey(k string) string {
	if len(k) <= 8 {
		return "sk-***"
	}
	return k[:3] + strings.Repeat("*", 8) + k[len(k)-4:]
}

// openaiError writes OpenAI's error object. Empty param and code are null.
func openaiError(w http.ResponseWriter, status int, msg, typ, param, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(openaiErrorBody(msg, typ, param, code))
}

func openaiErrorBody(msg, typ, param, code string) []byte {
	type obj struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
	o := obj{Message: msg, Type: typ}
	if param != "" {
		o.Param = &param
	}
	if code != "" {
		o.Code = &code
	}
	b, _ := json.Marshal(struct {
		Error obj `json:"error"`
	}{o})
	return b
}

// openaiScenario answers the error and fault markers shared by chat and
// embeddings. It reports whether it wrote a response; [[slow]] only waits.
func openaiScenario(w http.ResponseWriter, r *http.Request, text, model string) bool {
	switch {
	case strings.Contains(text, "[[429]]"):
		w.Header().Set("Retry-After", "1")
		w.Header().Set("x-ratelimit-limit-requests", "3")
		w.Header().Set("x-ratelimit-remaining-requests", "0")
		openaiError(w, http.StatusTooManyRequests, "Rate limit reached for "+model+" in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.", "requests", "", "rate_limit_exceeded")
		return true
	case strings.Contains(text, "[[500]]"):
		openaiError(w, http.StatusInternalServerError, "The server had an error while processing your request. Sorry about that!", "server_error", "", "")
		return true
	case strings.Contains(text, "[[503]]"):
		openaiError(w, http.StatusServiceUnavailable, "The engine is currently overloaded, please try again later.", "server_error", "", "")
		return true
	case strings.Contains(text, "[[400]]"):
		openaiError(w, http.StatusBadRequest, "Invalid value for 'temperature': must be between 0 and 2.", "invalid_request_error", "temperature", "invalid_value")
		return true
	case strings.Contains(text, "[[slow]]"):
		select {
		case <-time.After(SlowDelay):
		case <-r.Context().Done():
		}
	}
	return false
}

// OpenAIVector is the fake's embedding of text: dims values derived from
// an FNV-1a hash of the text, scaled to unit length as OpenAI's are.
func OpenAIVector(text string, dims int) []float32 {
	h := fnv.New64a()
	_, _ = io.WriteString(h, text)
	x := h.Sum64() | 1
	v := make([]float32, dims)
	var sum float64
	for i := range v {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		f := float64(x%20001)/10000 - 1
		v[i] = float32(f)
		sum += f * f
	}
	if sum > 0 {
		norm := float32(math.Sqrt(sum))
		for i := range v {
			v[i] /= norm
		}
	}
	return v
}

func (f *OpenAI) embeddings(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Model          string          `json:"model"`
		Input          json.RawMessage `json:"input"`
		EncodingFormat string          `json:"encoding_format"`
		Dimensions     int             `json:"dimensions"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		openaiParseError(w)
		return
	}
	if req.Model == "" {
		openaiError(w, http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", "", "")
		return
	}
	inputs, ok := openaiInputs(req.Input)
	if !ok {
		openaiError(w, http.StatusBadRequest, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", "invalid_request_error", "", "")
		return
	}
	if openaiScenario(w, r, strings.Join(inputs, "\n"), req.Model) {
		return
	}
	if strings.Contains(strings.Join(inputs, "\n"), "[[malformed]]") {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,`)
		return
	}
	dims := req.Dimensions
	if dims <= 0 {
		dims = 8
	}
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	out := struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
		Usage  struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}{Object: "list", Model: req.Model, Data: make([]item, len(inputs))}
	for i, text := range inputs {
		v := OpenAIVector(text, dims)
		var emb any = v
		if req.EncodingFormat == "base64" {
			raw := make([]byte, 0, 4*len(v))
			for _, x := range v {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
			}
			emb = base64.StdEncoding.EncodeToString(raw)
		}
		out.Data[i] = item{Object: "embedding", Index: i, Embedding: emb}
		out.Usage.PromptTokens += max(len(strings.Fields(text)), 1)
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	openaiJSON(w, out)
}

// openaiInputs reads an embeddings input: a string, strings, token ids or
// arrays of token ids (which are embedded as their decimal text).
func openaiInputs(raw json.RawMessage) ([]string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, s != ""
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return ss, len(ss) > 0
	}
	var toks [][]int
	if json.Unmarshal(raw, &toks) != nil {
		var one []int
		if json.Unmarshal(raw, &one) != nil {
			return nil, false
		}
		toks = [][]int{one}
	}
	out := make([]string, len(toks))
	for i, t := range toks {
		parts := make([]string, len(t))
		for j, id := range t {
			parts[j] = strconv.Itoa(id)
		}
		out[i] = strings.Join(parts, " ")
	}
	return out, len(out) > 0
}

func openaiModels(w http.ResponseWriter) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	openaiJSON(w, struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{"list", []model{
		{"gpt-4o", "model", 1715367049, "system"},
		{"gpt-4o-mini", "model", 1721172741, "system"},
		{"text-embedding-3-small", "model", 1705948997, "system"},
	}})
}

func openaiParseError(w http.ResponseWriter) {
	openaiError(w, http.StatusBadRequest, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)", "invalid_request_error", "", "")
}

func openaiJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}
