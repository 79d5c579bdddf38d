package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/google/go-cmp/cmp"
)

func TestRedactAndRestore(t *testing.T) {
	e := testEngine(t)
	req := &llm.ChatRequest{Model: "m", Messages: []llm.Message{
		llm.TextMessage(llm.RoleSystem, "Support desk. Escalations: ops@example.com"),
		llm.TextMessage(llm.RoleUser, "I am jane@example.com, card 4111 1111 1111 1111; again jane@example.com and ops@example.com"),
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c1", Name: "lookup", Arguments: `{"email":"jane\u0040example.com","card":4111111111111111,"n":3}`}}},
		{Role: llm.RoleTool, ToolCallID: "c1", Content: []llm.Part{{Type: llm.PartText, Text: `{"owner":"jane@example.com","status":"active"}`}}},
	}}
	orig := deepCopy(req)
	d := e.Evaluate(req, nil, "redact")
	if d.Action != ActionRedact {
		t.Fatalf("action %v", d.Action)
	}
	red := d.Redact(req)
	if diff := cmp.Diff(orig, req); diff != "" {
		t.Fatalf("Redact modified its input:\n%s", diff)
	}
	want := []string{
		"Support desk. Escalations: [EMAIL_1]",
		"I am [EMAIL_2], card [PAYMENT_CARD_1]; again [EMAIL_2] and [EMAIL_1]",
		`{"email":"[EMAIL_2]","card":"[PAYMENT_CARD_2]","n":3}`,
		`{"owner":"[EMAIL_2]","status":"active"}`,
	}
	got := []string{red.Messages[0].Text(), red.Messages[1].Text(), red.Messages[2].ToolCalls[0].Arguments, red.Messages[3].Text()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("redacted (-want +got):\n%s", diff)
	}
	if !json.Valid([]byte(got[2])) {
		t.Errorf("redacted arguments are not JSON: %s", got[2])
	}
	for _, v := range []string{"jane@example.com", "ops@example.com", "4111"} {
		b, _ := json.Marshal(red)
		if strings.Contains(string(b), v) {
			t.Errorf("redacted request still contains %q", v)
		}
	}

	resp := &llm.ChatResponse{Choices: []llm.Choice{{Message: llm.Message{
		Role:      llm.RoleAssistant,
		Content:   []llm.Part{{Type: llm.PartText, Text: "Sent to [EMAIL_2] (card [PAYMENT_CARD_1])."}},
		ToolCalls: []llm.ToolCall{{ID: "c2", Name: "send", Arguments: `{"to":"[EMAIL_2]","cc":"[EMAIL_1]"}`}},
	}}}}
	d.Restore(resp)
	if got := resp.Choices[0].Message.Text(); got != "Sent to jane@example.com (card 4111 1111 1111 1111)." {
		t.Errorf("restored text %q", got)
	}
	if got := resp.Choices[0].Message.ToolCalls[0].Arguments; got != `{"to":"jane@example.com","cc":"ops@example.com"}` {
		t.Errorf("restored args %q", got)
	}
}

func TestRestoreEscapesJSON(t *testing.T) {
	e := testEngine(t)
	d := e.EvaluateTexts([]string{`password: "pa\"ss\\w0rd"`}, nil, "redact")
	if d.Action != ActionNone {
		// the generic rule stops at quotes; use a PEM block, which spans newlines
		t.Logf("action %v", d.Action)
	}
	pem := "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"
	d = e.EvaluateTexts([]string{pem}, nil, "redact")
	if d.Action != ActionRedact {
		t.Fatalf("action %v", d.Action)
	}
	resp := &llm.ChatResponse{Choices: []llm.Choice{{Message: llm.Message{ToolCalls: []llm.ToolCall{{Arguments: `{"key":"[SECRET_1]"}`}}}}}}
	d.Restore(resp)
	var args struct{ Key string }
	if err := json.Unmarshal([]byte(resp.Choices[0].Message.ToolCalls[0].Arguments), &args); err != nil || args.Key != pem {
		t.Errorf("restored args %q: %v", resp.Choices[0].Message.ToolCalls[0].Arguments, err)
	}
}

func TestRedactTextsAndNonRedact(t *testing.T) {
	e := testEngine(t)
	texts := []string{"call +44 20 7946 0958", "nothing here", "+44 20 7946 0958 again"}
	d := e.EvaluateTexts(texts, nil, "redact")
	got := d.RedactTexts(texts)
	if diff := cmp.Diff([]string{"call [PHONE_1]", "nothing here", "[PHONE_1] again"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	d = e.EvaluateTexts(texts, nil, "")
	if d.Action != ActionSelfHostedOnly {
		t.Fatalf("action %v", d.Action)
	}
	if got := d.RedactTexts(texts); got[0] != texts[0] {
		t.Errorf("non-redact decision changed texts: %q", got)
	}
}

func deepCopy(r *llm.ChatRequest) *llm.ChatRequest {
	c := *r
	c.Messages = nil
	for _, m := range r.Messages {
		m.Content = append([]llm.Part(nil), m.Content...)
		m.ToolCalls = append([]llm.ToolCall(nil), m.ToolCalls...)
		c.Messages = append(c.Messages, m)
	}
	return &c
}
