package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	oa "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// startClouds starts the fakes of the cloud provider types.
func (u *upstreams) startClouds(t testing.TB) {
	u.bedrock = fake.NewBedrock("eu-central-1")
	u.azure = fake.NewAzure(map[string]string{"gpt4o-eu": "gpt-4o", "embed-eu": "text-embedding-3-small"})
	u.vertex = fake.NewVertex("fake-project", "europe-west4")
	u.mistral = fake.NewMistral()
	t.Cleanup(func() { u.bedrock.Close(); u.azure.Close(); u.vertex.Close(); u.mistral.Close() })
	u.vertexSA = writeFile(t, "vertex-sa.json", u.vertex.ServiceAccountJSON())
}

// cloudProviders and cloudModels add the cloud provider types
// (azure_openai, bedrock, vertex, mistral) to the matrix config: each adds
// its provider p-<type>, a chat model m-<type> and, where the type embeds,
// e-<type>* models.
func (u *upstreams) cloudProviders() string {
	return fmt.Sprintf(`  - { name: p-bedrock, type: bedrock, base_url: %q, region: eu, retention: none,
      aws: { region: eu-central-1, access_key_id: %q, secret_access_key: %q } }
  - { name: p-azure, type: azure_openai, base_url: %q, region: eu, retention: none,
      azure: { entra: { tenant_id: %q, client_id: %q, client_secret: %q, token_url: %q }, deployments: { gpt-4o: gpt4o-eu } } }
  - { name: p-azure-resp, type: azure_openai, base_url: %q, region: eu, retention: none, api_key: %q, responses: true,
      azure: { deployments: { gpt-4o: gpt4o-eu } } }
  - { name: p-vertex, type: vertex, base_url: %q, region: eu, retention: none,
      vertex: { project: fake-project, location: europe-west4, credentials_file: %q } }
  - { name: p-mistral, type: mistral, base_url: %q, api_key: %q, region: eu, mistral: { safe_prompt: true } }`,
		u.bedrock.URL, fake.BedrockAccessKey, fake.BedrockSecretKey,
		u.azure.URL, fake.AzureTenant, fake.AzureClientID, fake.AzureClientSecret, u.azure.TokenURL(),
		u.azure.URL, fake.APIKey,
		u.vertex.URL, u.vertexSA, u.mistral.URL, fake.APIKey)
}

func (u *upstreams) cloudModels() string {
	return `  - { name: m-bedrock, provider: p-bedrock, upstream: "eu.anthropic.claude-sonnet-4-5-20250929-v1:0" }
  - { name: e-bedrock-titan, provider: p-bedrock, upstream: "amazon.titan-embed-text-v2:0", type: embedding }
  - { name: e-bedrock-cohere, provider: p-bedrock, upstream: "cohere.embed-multilingual-v3", type: embedding }
  - { name: m-azure, provider: p-azure, upstream: gpt-4o }
  - { name: m-azure-resp, provider: p-azure-resp, upstream: gpt-4o }
  - { name: e-azure, provider: p-azure, upstream: embed-eu, type: embedding }
  - { name: m-vertex-gemini, provider: p-vertex, upstream: gemini-2.5-flash }
  - { name: m-vertex-claude, provider: p-vertex, upstream: "claude-sonnet-4-5@20250929" }
  - { name: e-vertex, provider: p-vertex, upstream: text-embedding-005, type: embedding }
  - { name: m-mistral, provider: p-mistral, upstream: mistral-large-latest }
  - { name: e-mistral, provider: p-mistral, upstream: mistral-embed, type: embedding }`
}

// writeFile writes a file in the test's temporary directory.
func writeFile(t testing.TB, name string, b []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCloudErrors: provider-specific refusals reach each client format
// with the right status: Azure's content filter as a 400 content_filter,
// Bedrock throttling as a 429 with Retry-After.
func TestCloudErrors(t *testing.T) {
	u := startUpstreams(t)
	g := startGateway(t, u.config(), "FULCRUM_MASTER_KEY="+masterKey)
	for _, stream := range []string{"false", "true"} {
		resp, body := post(t, g, "/v1/chat/completions", `{"model":"m-azure","stream":`+stream+`,"messages":[{"role":"user","content":"[[filtered]]"}]}`)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"code":"content_filter"`) || !strings.Contains(string(body), "hate: high") {
			t.Errorf("azure filtered prompt (stream %s) via openai: %d %s", stream, resp.StatusCode, body)
		}
		resp, body = post(t, g, "/v1/messages", `{"model":"m-azure","max_tokens":20,"stream":`+stream+`,"messages":[{"role":"user","content":"[[filtered]]"}]}`)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"invalid_request_error"`) || !strings.Contains(string(body), "content filter") {
			t.Errorf("azure filtered prompt (stream %s) via anthropic: %d %s", stream, resp.StatusCode, body)
		}
	}
	resp, body := post(t, g, "/v1/chat/completions", `{"model":"m-azure","messages":[{"role":"user","content":"[[filtered-output]]"}]}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"finish_reason":"content_filter"`) {
		t.Errorf("azure filtered output: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, g, "/v1/chat/completions", `{"model":"m-bedrock","messages":[{"role":"user","content":"[[429]]"}]}`)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("bedrock throttling: %d retry-after %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// TestAzureResponses: the official OpenAI SDK's Responses calls reach an
// azure_openai provider configured with responses: true through Azure's
// own Responses API (POST /openai/v1/responses, the deployment as model),
// streamed and not, and one without it through translation to the
// deployment's chat completions.
func TestAzureResponses(t *testing.T) {
	u := startUpstreams(t)
	g := startGateway(t, u.config(), "FULCRUM_MASTER_KEY="+masterKey)
	client := openaiClient(g)
	for _, tt := range []struct{ model, path string }{
		{"m-azure-resp", "/openai/v1/responses"},
		{"m-azure", "/openai/deployments/gpt4o-eu/chat/completions?api-version=2024-10-21"},
	} {
		u.azure.Log.Reset()
		resp, err := client.Responses.New(t.Context(), responses.ResponseNewParams{
			Model: tt.model, Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("Hello Azure")}})
		if err != nil {
			t.Fatalf("%s: %v", tt.model, err)
		}
		if got := resp.OutputText(); got != fake.Reply("Hello Azure") || resp.Usage.InputTokens != fake.InputTokens {
			t.Errorf("%s: text %q usage %+v", tt.model, got, resp.Usage)
		}
		st := client.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{
			Model: tt.model, Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("Hello stream")}})
		var text string
		completed := false
		for st.Next() {
			ev := st.Current()
			switch ev.Type {
			case "response.output_text.delta":
				text += ev.Delta
			case "response.completed":
				completed = true
			}
		}
		if err := st.Err(); err != nil || !completed || text != fake.Reply("Hello stream") {
			t.Errorf("%s stream: %q completed %v err %v", tt.model, text, completed, err)
		}
		var log []fake.Request
		for _, r := range u.azure.Log.All() {
			if !strings.Contains(r.Path, "/oauth2/") { // p-azure's Entra token
				log = append(log, r)
			}
		}
		if len(log) != 2 {
			t.Fatalf("%s: %d upstream calls", tt.model, len(log))
		}
		for _, r := range log {
			if r.Path != tt.path || !strings.Contains(string(r.Body), "gpt4o-eu") && tt.model == "m-azure-resp" {
				t.Errorf("%s: sent %s %s, want %s with the deployment as model", tt.model, r.Path, r.Body, tt.path)
			}
		}
	}
}
