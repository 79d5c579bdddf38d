package fake

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Vertex plays Google Vertex AI as its reference documents it:
// POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:
// generateContent, :streamGenerateContent?alt=sse and :predict
// (embeddings), and publishers/anthropic/models/{m}:rawPredict and
// :streamRawPredict (Anthropic's Messages body with anthropic_version
// vertex-2023-10-16 and no model field). Calls need a bearer token issued
// by the fake's OAuth token endpoint (POST /token, the JWT-bearer grant of
// a service account, the JWT's RS256 signature checked against the key of
// ServiceAccountJSON); other calls get Google's 401 UNAUTHENTICATED.
//
// Gemini and Claude answers come from the fake Gemini and Anthropic APIs.
type Vertex struct {
	Server *httptest.Server
	// URL is the API root including /v1, what base_url is set to.
	URL      string
	Project  string
	Location string
	Log      Log

	gemini    *Gemini
	anthropic *Anthropic
	key       *rsa.PrivateKey
	mu        sync.Mutex // guards tokens
	tokens    map[string]bool
	issued    atomic.Int64
}

// VertexClientEmail is the service account of ServiceAccountJSON.
const VertexClientEmail = "fulcrum@fake-project.iam.gserviceaccount.com"

// NewVertex starts a fake Vertex AI for one project and location.
func NewVertex(project, location string) *Vertex {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	v := &Vertex{Project: project, Location: location, gemini: NewGemini(), anthropic: NewAnthropic(), key: key, tokens: map[string]bool{}}
	v.Server = httptest.NewServer(http.HandlerFunc(v.serve))
	v.URL = v.Server.URL + "/v1"
	return v
}

// Close shuts the servers down.
func (v *Vertex) Close() { v.Server.Close(); v.gemini.Close(); v.anthropic.Close() }

// TokenURL is the fake OAuth token endpoint.
func (v *Vertex) TokenURL() string { return v.Server.URL + "/token" }

// TokensIssued counts the access tokens issued.
func (v *Vertex) TokensIssued() int { return int(v.issued.Load()) }

// ServiceAccountJSON is a service-account key file whose token_uri is
// the fake's token endpoint.
func (v *Vertex) ServiceAccountJSON() []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(v.key)
	b, _ := json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": v.Project, "private_key_id": "fakekeyid0001",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": VertexClientEmail, "client_id": "100000000000000000001",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": v.TokenURL(),
	}, "", "  ")
	return b
}

func (v *Vertex) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	v.Log.Add(Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	if r.URL.Path == "/token" {
		v.token(w, r, body)
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	v.mu.Lock()
	ok := v.tokens[tok]
	v.mu.Unlock()
	if !ok {
		geminiError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.", "")
		return
	}
	prefix := "/v1/projects/" + v.Project + "/locations/" + v.Location + "/publishers/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || r.Method != http.MethodPost {
		geminiError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.", "")
		return
	}
	pub, rest, _ := strings.Cut(rest, "/models/")
	model, method, _ := strings.Cut(rest, ":")
	switch {
	case pub == "google" && (method == "generateContent" || method == "streamGenerateContent"):
		inner := r.Clone(r.Context())
		inner.URL.Path = "/v1beta/models/" + model + ":" + method
		inner.Header.Set("x-goog-api-key", APIKey)
		inner.Body = io.NopCloser(bytes.NewReader(body))
		v.gemini.serve(w, inner)
	case pub == "google" && method == "predict":
		vertexPredict(w, body, model)
	case pub == "anthropic" && (method == "rawPredict" || method == "streamRawPredict"):
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", "Could not parse request body as JSON")
			return
		}
		if string(m["anthropic_version"]) != `"vertex-2023-10-16"` {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", "anthropic_version: Input should be 'vertex-2023-10-16'")
			return
		}
		if _, has := m["model"]; has {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", "model: Extra inputs are not permitted")
			return
		}
		if method == "streamRawPredict" && string(m["stream"]) != "true" {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", "stream: streamRawPredict requires stream: true")
			return
		}
		delete(m, "anthropic_version")
		m["model"], _ = json.Marshal(model)
		b, _ := json.Marshal(m)
		inner := r.Clone(r.Context())
		inner.URL.Path = "/v1/messages"
		inner.Header.Set("x-api-key", APIKey)
		inner.Header.Set("anthropic-version", "2023-06-01")
		inner.Body = io.NopCloser(bytes.NewReader(b))
		v.anthropic.serve(w, inner)
	default:
		geminiError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("Publisher Model `projects/%s/locations/%s/publishers/%s/models/%s` not found.", v.Project, v.Location, pub, model), "")
	}
}

// token answers the JWT-bearer grant of a service account.
func (v *Vertex) token(w http.ResponseWriter, r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	fail := func(desc string) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": desc})
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail("Invalid grant_type")
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		fail("Invalid JWT")
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(&v.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		fail("Invalid JWT Signature.")
		return
	}
	var claims struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
		Exp   int64  `json:"exp"`
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(payload, &claims)
	switch {
	case claims.Iss != VertexClientEmail:
		fail("Invalid issuer")
	case claims.Aud != v.TokenURL():
		fail("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
	case !strings.Contains(claims.Scope, "https://www.googleapis.com/auth/cloud-platform"):
		fail("Invalid OAuth scope or ID token audience provided.")
	case claims.Exp < time.Now().Unix():
		fail("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
	default:
		tok := fmt.Sprintf("ya29.fake-%d", v.issued.Add(1))
		v.mu.Lock()
		v.tokens[tok] = true
		v.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})
	}
}

// vertexPredict answers text-embedding :predict calls.
func vertexPredict(w http.ResponseWriter, body []byte, model string) {
	var req struct {
		Instances []struct {
			Content string `json:"content"`
		} `json:"instances"`
		Parameters struct {
			OutputDimensionality int `json:"outputDimensionality"`
		} `json:"parameters"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.Instances) == 0 {
		geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.", "")
		return
	}
	if strings.HasPrefix(model, "gemini-embedding") && len(req.Instances) > 1 {
		geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Unable to submit request because the model supports only 1 instance per request.", "")
		return
	}
	preds := make([]any, len(req.Instances))
	for i, in := range req.Instances {
		preds[i] = map[string]any{"embeddings": map[string]any{
			"values":     HashVector(in.Content, cmp.Or(req.Parameters.OutputDimensionality, 8)),
			"statistics": map[string]any{"truncated": false, "token_count": len(strings.Fields(in.Content))},
		}}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"predictions": preds, "metadata": map[string]any{"billableCharacterCount": 10}})
}
