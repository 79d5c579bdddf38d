package e2e

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// TestEUBankExample runs examples/eu-bank.yaml, its providers pointed at
// fakes, and shows that each data class goes where the policy says: card
// data only to the self-hosted model, personal data only to EU
// zero-retention endpoints, everything else to the first target (the US
// API).
func TestEUBankExample(t *testing.T) {
	b, err := os.ReadFile("../../examples/eu-bank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	oa, br, az, ol := fake.NewOpenAI(), fake.NewBedrock("eu-central-1"), fake.NewAzure(map[string]string{"gpt4o-prod": "gpt-4o"}), fake.NewOllama()
	defer func() { oa.Close(); br.Close(); az.Close(); ol.Close() }()
	for _, p := range cfg["providers"].([]any) {
		pm := p.(map[string]any)
		switch pm["name"] {
		case "openai-us":
			pm["base_url"], pm["api_key"] = oa.URL, fake.APIKey
		case "bedrock-eu":
			pm["base_url"] = br.URL
			pm["aws"] = map[string]any{"region": "eu-central-1", "access_key_id": fake.BedrockAccessKey, "secret_access_key": fake.BedrockSecretKey}
		case "azure-eu":
			pm["base_url"] = az.URL
			pm["azure"].(map[string]any)["entra"] = map[string]any{"tenant_id": fake.AzureTenant, "client_id": fake.AzureClientID,
				"client_secret": fake.AzureClientSecret, "token_url": az.TokenURL()}
		case "onprem":
			pm["base_url"] = ol.URL
		default:
			t.Fatalf("unexpected provider %v", pm["name"])
		}
	}
	cfg["storage"] = map[string]any{"data_dir": "DATA_DIR"}
	out, _ := yaml.Marshal(cfg)
	g := startGateway(t, string(out), "FULCRUM_MASTER_KEY="+masterKey)

	send := func(text string) string {
		t.Helper()
		resp, body := post(t, g, "/v1/chat/completions", `{"model":"assistant","messages":[{"role":"user","content":`+jsonString(text)+`}]}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%q: %d %s", text, resp.StatusCode, body)
		}
		return resp.Header.Get("X-Fulcrum-Provider")
	}
	cases := []struct{ class, text, want string }{
		{"none", "Summarise the outlook for euro interest rates.", "openai-us"},
		{"email", "Draft a reply to jane.doe@example.com about her mortgage.", "bedrock-eu"},
		{"iban", "Check transfer to DE89 3704 0044 0532 0130 00 for fraud.", "bedrock-eu"},
		{"payment_card", "Card 4111 1111 1111 1111 was charged twice; explain the dispute steps.", "onprem"},
	}
	for _, c := range cases {
		if got := send(c.text); got != c.want {
			t.Errorf("%s: served by %q, want %q", c.class, got, c.want)
		}
	}
	// The card number never reached a proprietary upstream.
	for name, reqs := range map[string][]fake.Request{"openai-us": oa.Log.All(), "bedrock-eu": br.Log.All(), "azure-eu": az.Log.All()} {
		for _, r := range reqs {
			if strings.Contains(string(r.Body), "4111") {
				t.Errorf("card data reached %s", name)
			}
			if name == "openai-us" && (strings.Contains(string(r.Body), "jane.doe") || strings.Contains(string(r.Body), "DE89")) {
				t.Errorf("personal data reached the US API")
			}
		}
	}
	// With Bedrock down, personal data falls back to the other EU endpoint,
	// never to the US API.
	br.Close()
	if got := send("Call +49 30 901820 back, it is Jane's number."); got != "azure-eu" && got != "onprem" {
		t.Errorf("phone with bedrock down: served by %q", got)
	}
}
