package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// TestAdaptersRefuseUnclearedCalls: every adapter kind, as NewProvider
// builds it, refuses a call whose permit is the zero Permit or was minted
// for another provider, with the 500 not_cleared error and before
// anything reaches its upstream; with its own permit the same call does
// reach the upstream (so "nothing arrived" means refused, not misrouted).
func TestAdaptersRefuseUnclearedCalls(t *testing.T) {
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, `{"error":{"message":"upstream test double","type":"server_error"}}`, http.StatusServiceUnavailable)
	}))
	defer up.Close()
	vf := fake.NewVertex("fake-project", "europe-west4")
	defer vf.Close()
	sa := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(sa, vf.ServiceAccountJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	on := true
	configs := []config.Provider{
		{Name: "openai", Type: config.TypeOpenAI, BaseURL: up.URL, APIKey: "k"},
		{Name: "anthropic", Type: config.TypeAnthropic, BaseURL: up.URL, APIKey: "k"},
		{Name: "gemini", Type: config.TypeGemini, BaseURL: up.URL, APIKey: "k"},
		{Name: "ollama", Type: config.TypeOllama, BaseURL: up.URL},
		{Name: "mistral", Type: config.TypeMistral, BaseURL: up.URL, APIKey: "k"},
		{Name: "azure", Type: config.TypeAzureOpenAI, BaseURL: up.URL, APIKey: "k", Responses: &on, Azure: &config.Azure{}},
		{Name: "bedrock", Type: config.TypeBedrock, BaseURL: up.URL,
			AWS: &config.AWS{Region: "eu-central-1", AccessKeyID: fake.BedrockAccessKey, SecretAccessKey: fake.BedrockSecretKey}},
		{Name: "vertex", Type: config.TypeVertex, BaseURL: up.URL,
			Vertex: &config.Vertex{Project: "fake-project", Location: "europe-west4", CredentialsFile: sa}},
		{Name: "replay", Type: config.TypeReplay, Replay: &config.Replay{File: "builtin:gsm8k", Model: "gpt-4-1106-preview"}},
	}
	other, err := NewProvider(config.Provider{Name: "other", Type: config.TypeOllama, BaseURL: up.URL})
	if err != nil {
		t.Fatal(err)
	}
	forOther, err := policy.Unrestricted().Permit(other.Info())
	if err != nil {
		t.Fatal(err)
	}
	chat := &llm.ChatRequest{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hello")}}
	calls := map[string]func(context.Context, provider.Provider, policy.Permit) error{
		"Chat": func(ctx context.Context, p provider.Provider, pm policy.Permit) error {
			_, err := p.Chat(ctx, pm, chat)
			return err
		},
		"ChatStream": func(ctx context.Context, p provider.Provider, pm policy.Permit) error {
			s, err := p.ChatStream(ctx, pm, chat)
			if err == nil {
				s.Close()
			}
			return err
		},
		"Embed": func(ctx context.Context, p provider.Provider, pm policy.Permit) error {
			_, err := p.Embed(ctx, pm, &llm.EmbedRequest{Model: "m", Input: []string{"hello"}})
			return err
		},
		"Forward": func(ctx context.Context, p provider.Provider, pm policy.Permit) error {
			resp, err := p.Forward(ctx, pm, &provider.RawRequest{Path: "/chat/completions", Body: []byte(`{"model":"m","messages":[]}`)})
			if err == nil {
				resp.Body.Close()
			}
			return err
		},
	}
	for _, pc := range configs {
		p, err := NewProvider(pc)
		if err != nil {
			t.Fatalf("%s: %v", pc.Name, err)
		}
		own, err := policy.Unrestricted().Permit(p.Info())
		if err != nil {
			t.Fatal(err)
		}
		for method, call := range calls {
			t.Run(pc.Name+"/"+method, func(t *testing.T) {
				for _, bad := range []struct {
					name string
					pm   policy.Permit
				}{{"zero permit", policy.Permit{}}, {"permit for another provider", forOther}} {
					before := hits.Load()
					err := call(t.Context(), p, bad.pm)
					var le *llm.Error
					if !errors.As(err, &le) || le.Status != http.StatusInternalServerError || le.Code != "not_cleared" {
						t.Errorf("%s: err = %v, want a 500 not_cleared", bad.name, err)
					}
					if n := hits.Load() - before; n != 0 {
						t.Errorf("%s: %d requests reached the upstream", bad.name, n)
					}
				}
				// The control: its own permit passes the check (the
				// call may still fail upstream or be unsupported).
				before := hits.Load()
				err := call(t.Context(), p, own)
				if le := llm.AsError(err); err != nil && le.Code == "not_cleared" {
					t.Errorf("own permit: %v", err)
				}
				if method == "Chat" && pc.Type != config.TypeReplay && hits.Load() == before {
					t.Errorf("own permit: Chat never reached the upstream")
				}
			})
		}
	}
}
