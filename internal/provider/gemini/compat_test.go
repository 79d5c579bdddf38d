package gemini

import (
	"encoding/json"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/google/go-cmp/cmp"
)

// sentContents returns the contents of the i-th request the fake received.
func sentContents(t *testing.T, f *fake.Gemini, i int) []content {
	t.Helper()
	var body generateRequest
	if err := json.Unmarshal(f.Log.All()[i].Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Contents
}

// A multi-party chat (OpenAI message name) keeps who spoke: Gemini contents
// have no name, so it is folded into the text as the Anthropic encoder does.
func TestMessageNameFolded(t *testing.T) {
	f := fake.NewGemini()
	defer f.Close()
	c := newTestClient(t, f)
	alice := llm.TextMessage(llm.RoleUser, "I vote for Paris.")
	alice.Name = "alice"
	bot := llm.TextMessage(llm.RoleAssistant, "Noted.")
	bot.Name = "moderator"
	bob := llm.TextMessage(llm.RoleUser, "I vote for Rome.")
	bob.Name = "bob"
	req := &llm.ChatRequest{Model: "gemini-2.5-flash", Messages: []llm.Message{alice, bot, bob}}
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatal(err)
	}
	want := []content{
		{Role: "user", Parts: []part{{Text: "alice: I vote for Paris."}}},
		{Role: "model", Parts: []part{{Text: "moderator: Noted."}}},
		{Role: "user", Parts: []part{{Text: "bob: I vote for Rome."}}},
	}
	if diff := cmp.Diff(want, sentContents(t, f, 0)); diff != "" {
		t.Errorf("contents (-want +got):\n%s", diff)
	}
	if req.Messages[0].Content[0].Text != "I vote for Paris." {
		t.Errorf("the request was changed: %q", req.Messages[0].Content[0].Text)
	}
}
