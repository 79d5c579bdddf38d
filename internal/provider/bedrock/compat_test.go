package bedrock

import (
	"encoding/json"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/google/go-cmp/cmp"
)

// sentMessages returns the messages of the i-th request the fake received.
func sentMessages(t *testing.T, f *fake.Bedrock, i int) []message {
	t.Helper()
	var body converseRequest
	if err := json.Unmarshal(f.Log.All()[i].Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Messages
}

func text(s string) contentBlock { return contentBlock{Text: &s} }

// A multi-party chat (OpenAI message name) keeps who spoke: Converse
// messages have no name, so it is folded into the text.
func TestMessageNameFolded(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	alice := llm.TextMessage(llm.RoleUser, "I vote for Paris.")
	alice.Name = "alice"
	bot := llm.TextMessage(llm.RoleAssistant, "Noted.")
	bot.Name = "moderator"
	bob := llm.TextMessage(llm.RoleUser, "I vote for Rome.")
	bob.Name = "bob"
	req := &llm.ChatRequest{Model: claude, Messages: []llm.Message{alice, bot, bob}}
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatal(err)
	}
	want := []message{
		{Role: "user", Content: []contentBlock{text("alice: I vote for Paris.")}},
		{Role: "assistant", Content: []contentBlock{text("moderator: Noted.")}},
		{Role: "user", Content: []contentBlock{text("bob: I vote for Rome.")}},
	}
	if diff := cmp.Diff(want, sentMessages(t, f, 0)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}
