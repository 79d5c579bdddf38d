package ollama

import (
	"encoding/json"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/google/go-cmp/cmp"
)

// sentMessages returns the messages of the i-th request the fake received.
func sentMessages(t *testing.T, f *fake.Ollama, i int) []message {
	t.Helper()
	var body chatRequest
	if err := json.Unmarshal(f.Log.All()[i].Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Messages
}

// A multi-party chat (OpenAI message name) keeps who spoke: Ollama messages
// have no name, so it is folded into the text.
func TestMessageNameFolded(t *testing.T) {
	f := fake.NewOllama()
	defer f.Close()
	c := newTestClient(t, f.URL)
	alice := llm.TextMessage(llm.RoleUser, "I vote for Paris.")
	alice.Name = "alice"
	bot := llm.TextMessage(llm.RoleAssistant, "Noted.")
	bot.Name = "moderator"
	bob := llm.TextMessage(llm.RoleUser, "I vote for Rome.")
	bob.Name = "bob"
	req := &llm.ChatRequest{Model: "llama3.2:latest", Messages: []llm.Message{alice, bot, bob}}
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatal(err)
	}
	want := []message{
		{Role: "user", Content: "alice: I vote for Paris."},
		{Role: "assistant", Content: "moderator: Noted."},
		{Role: "user", Content: "bob: I vote for Rome."},
	}
	if diff := cmp.Diff(want, sentMessages(t, f, 0)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}
