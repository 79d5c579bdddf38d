package bedrock

import (
	"encoding/json"
	"strings"
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

// History with tool call ids Converse refuses (Kimi K2 on vLLM, ids longer
// than 64 characters) is sent with ids it accepts, a call and its result
// still matching and distinct ids staying distinct.
func TestForeignToolCallIDs(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	long := "call_" + strings.Repeat("x", 70)
	req := userReq("Weather in Paris and Rome?")
	req.Tools = []llm.Tool{weatherTool}
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
			{ID: "functions.get_weather:0", Name: "get_weather", Arguments: `{"location":"Paris"}`},
			{ID: "functions.get_weather:1", Name: "get_weather", Arguments: `{"location":"Rome"}`},
			{ID: long, Name: "get_weather", Arguments: `{"location":"Oslo"}`},
			{ID: "tooluse_ok-1", Name: "get_weather", Arguments: `{"location":"Bern"}`}}},
		llm.Message{Role: llm.RoleTool, ToolCallID: "functions.get_weather:0", Content: []llm.Part{{Type: llm.PartText, Text: "18C"}}},
		llm.Message{Role: llm.RoleTool, ToolCallID: "functions.get_weather:1", Content: []llm.Part{{Type: llm.PartText, Text: "21C"}}},
		llm.Message{Role: llm.RoleTool, ToolCallID: long, Content: []llm.Part{{Type: llm.PartText, Text: "3C"}}},
		llm.Message{Role: llm.RoleTool, ToolCallID: "tooluse_ok-1", Content: []llm.Part{{Type: llm.PartText, Text: "9C"}}})
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatal(err)
	}
	msgs := sentMessages(t, f, 0)
	var calls, results []string
	for _, b := range msgs[1].Content {
		calls = append(calls, b.ToolUse.ToolUseID)
	}
	for _, b := range msgs[2].Content {
		results = append(results, b.ToolResult.ToolUseID)
	}
	if diff := cmp.Diff(calls, results); diff != "" {
		t.Errorf("results do not match calls (-calls +results):\n%s", diff)
	}
	if calls[0] == calls[1] || calls[3] != "tooluse_ok-1" || !strings.HasPrefix(calls[0], "functions_get_weather_0_") || len(calls[2]) > 64 {
		t.Errorf("ids = %q", calls)
	}
}
