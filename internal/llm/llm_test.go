package llm

import (
	"errors"
	"fmt"
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
