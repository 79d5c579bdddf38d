package anthropic

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// accumulate feeds an event stream through the official Go SDK's
// Message.Accumulate, the way SDK users build the final message.
func accumulate(t *testing.T, stream []byte) sdk.Message {
	t.Helper()
	var msg sdk.Message
	d := sse.NewDecoder(bytes.NewReader(stream))
	for {
		ev, err := d.Next()
		if err == io.EOF {
			return msg
		}
		if err != nil {
			t.Fatal(err)
		}
		var u sdk.MessageStreamEventUnion
		if err := json.Unmarshal(ev.Data, &u); err != nil {
			t.Fatalf("SDK cannot decode %s: %v", ev.Data, err)
		}
		if u.Type != ev.Event {
			t.Errorf("event name %q, JSON type %q", ev.Event, u.Type)
		}
		if err := msg.Accumulate(u); err != nil {
			t.Fatalf("SDK Accumulate(%s): %v", ev.Event, err)
		}
	}
}

// TestStreamEncoderSDKAccumulate checks that the official SDK ends up with
// the right content and the right input and output tokens, although input
// tokens are unknown when message_start is written.
func TestStreamEncoderSDKAccumulate(t *testing.T) {
	e := NewStreamEncoder("chatcmpl-1", "gpt-4o")
	var b []byte
	for _, c := range []llm.Chunk{
		{Role: llm.RoleAssistant},
		{Text: "Let me check. "},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_1", Name: "get_weather", Arguments: `{"location":`}}},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}}},
		{FinishReason: llm.FinishToolCalls},
		{Usage: &llm.Usage{InputTokens: 1500, OutputTokens: 42, CacheReadTokens: 1000, CacheWriteTokens: 200}},
	} {
		b = e.Append(b, &c)
	}
	b = e.Done(b)
	msg := accumulate(t, b)

	type got struct {
		ID, Model, StopReason   string
		Text                    string
		ToolID, ToolName, Input string
		In, Out, Read, Write    int64
	}
	g := got{ID: msg.ID, Model: msg.Model, StopReason: string(msg.StopReason),
		In: msg.Usage.InputTokens, Out: msg.Usage.OutputTokens,
		Read: msg.Usage.CacheReadInputTokens, Write: msg.Usage.CacheCreationInputTokens}
	if len(msg.Content) != 2 {
		t.Fatalf("content blocks = %d, want 2: %+v", len(msg.Content), msg.Content)
	}
	g.Text = msg.Content[0].Text
	g.ToolID, g.ToolName, g.Input = msg.Content[1].ID, msg.Content[1].Name, string(msg.Content[1].Input)
	want := got{ID: "msg_1", Model: "gpt-4o", StopReason: "tool_use", Text: "Let me check. ",
		ToolID: "call_1", ToolName: "get_weather", Input: `{"location":"Paris"}`,
		In: 300, Out: 42, Read: 1000, Write: 200}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("SDK-accumulated message (-want +got):\n%s", diff)
	}
}

// TestEncodeResponseSDK checks a non-streamed answer decodes in the SDK.
func TestEncodeResponseSDK(t *testing.T) {
	body, err := EncodeMessagesResponse(&llm.ChatResponse{
		ID: "chatcmpl-9", Model: "gpt-4o",
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "hi"), FinishReason: llm.FinishStop}},
		Usage:   &llm.Usage{InputTokens: 10, OutputTokens: 2, CacheReadTokens: 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	var msg sdk.Message
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.ID != "msg_9" || msg.Content[0].Text != "hi" || msg.StopReason != "end_turn" ||
		msg.Usage.InputTokens != 6 || msg.Usage.CacheReadInputTokens != 4 || msg.Usage.OutputTokens != 2 {
		t.Errorf("SDK saw %s", body)
	}
}

// TestRoundTrip: an Anthropic request decoded to canonical and encoded
// back keeps its meaning.
func TestRoundTrip(t *testing.T) {
	in := `{"model":"m","max_tokens":5,"system":"sys","messages":[{"role":"user","content":"q"},` +
		`{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{"a":1}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r"},{"type":"text","text":"next"}]}],` +
		`"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"auto"}}`
	req, err := DecodeMessagesRequest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := EncodeMessagesRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
}

// TestStreamEncoderReusedIndex: servers that number every tool call 0
// still give one tool_use block per call id.
func TestStreamEncoderReusedIndex(t *testing.T) {
	e := NewStreamEncoder("x", "m")
	var b []byte
	for _, c := range []llm.Chunk{
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "a", Name: "f", Arguments: `{"n":1}`}}},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "b", Name: "f", Arguments: `{"n":`}}},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `2}`}}},
	} {
		b = e.Append(b, &c)
	}
	msg := accumulate(t, e.Done(b))
	var got []string
	for _, c := range msg.Content {
		got = append(got, c.ID+" "+string(c.Input))
	}
	if diff := cmp.Diff([]string{`a {"n":1}`, `b {"n":2}`}, got); diff != "" || msg.StopReason != "tool_use" {
		t.Errorf("blocks (-want +got):\n%s stop %q", diff, msg.StopReason)
	}
}
