package llm

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func TestMessageText(t *testing.T) {
	m := Message{Content: []Part{{Type: PartText, Text: "a"}, {Type: PartImage, Image: &Image{URL: "u"}}, {Type: PartText, Text: "b"}}}
	if got := m.Text(); got != "ab" {
		t.Errorf("Text() = %q", got)
	}
	tm := TextMessage(RoleUser, "x")
	if got := tm.Text(); got != "x" {
		t.Errorf("TextMessage = %q", got)
	}
}

func TestAsError(t *testing.T) {
	e := Errorf("messages[0].role", "bad role %q", "robot")
	wrapped := fmt.Errorf("decode: %w", e)
	if got := AsError(wrapped); got != e || got.Status != 400 || got.Param != "messages[0].role" {
		t.Errorf("AsError(wrapped) = %+v", got)
	}
	if got := AsError(errors.New("x")); got.Status != 500 || got.Message == "x" {
		t.Errorf("unknown errors must not leak their text: %+v", got)
	}
	if got := Unsupported("ollama", "n"); got.Status != 400 || got.Code != "unsupported_parameter" {
		t.Errorf("Unsupported = %+v", got)
	}
}

func TestStatusType(t *testing.T) {
	for status, want := range map[int]string{401: ErrAuthentication, 404: ErrNotFound, 429: ErrRateLimit, 529: ErrOverloaded, 504: ErrTimeout, 422: ErrInvalidRequest, 500: ErrUpstream} {
		if got := StatusType(status); got != want {
			t.Errorf("StatusType(%d) = %s, want %s", status, got, want)
		}
	}
}

func TestNameFolded(t *testing.T) {
	img := Part{Type: PartImage, Image: &Image{Data: "AAAA", MediaType: "image/png"}}
	calls := []ToolCall{{ID: "c1", Name: "f", Arguments: "{}"}}
	for _, tc := range []struct {
		name string
		in   Message
		want []Part
	}{
		{"user text", Message{Role: RoleUser, Name: "alice", Content: []Part{{Type: PartText, Text: "hi"}}}, []Part{{Type: PartText, Text: "alice: hi"}}},
		{"image first", Message{Role: RoleUser, Name: "alice", Content: []Part{img}}, []Part{{Type: PartText, Text: "alice:"}, img}},
		{"no name", Message{Role: RoleUser, Content: []Part{{Type: PartText, Text: "hi"}}}, []Part{{Type: PartText, Text: "hi"}}},
		{"tool calls only", Message{Role: RoleAssistant, Name: "bot", ToolCalls: calls}, nil},
		{"tool result", Message{Role: RoleTool, Name: "f", ToolCallID: "c1", Content: []Part{{Type: PartText, Text: "18C"}}}, []Part{{Type: PartText, Text: "18C"}}},
	} {
		in := tc.in
		got := in.NameFolded()
		if !reflect.DeepEqual(got.Content, tc.want) {
			t.Errorf("%s: content = %+v, want %+v", tc.name, got.Content, tc.want)
		}
		if !reflect.DeepEqual(in, tc.in) {
			t.Errorf("%s: the message was changed", tc.name)
		}
	}
}
