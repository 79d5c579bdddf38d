package responses

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Meta identifies the Response object being built.
type Meta struct {
	ID        string
	CreatedAt int64
	Model     string
}

// response is the Response object (field order as in the API reference).
type response struct {
	ID                 string          `json:"id"`
	Object             string          `json:"object"`
	CreatedAt          int64           `json:"created_at"`
	Status             string          `json:"status"`
	Background         bool            `json:"background"`
	Error              *errorObject    `json:"error"`
	IncompleteDetails  *incomplete     `json:"incomplete_details"`
	Instructions       *string         `json:"instructions"`
	MaxOutputTokens    *int            `json:"max_output_tokens"`
	Model              string          `json:"model"`
	Output             []any           `json:"output"`
	ParallelToolCalls  bool            `json:"parallel_tool_calls"`
	PreviousResponseID *string         `json:"previous_response_id"`
	Reasoning          json.RawMessage `json:"reasoning"`
	Store              bool            `json:"store"`
	Temperature        *float64        `json:"temperature"`
	Text               json.RawMessage `json:"text"`
	ToolChoice         json.RawMessage `json:"tool_choice"`
	Tools              json.RawMessage `json:"tools"`
	TopP               *float64        `json:"top_p"`
	Truncation         string          `json:"truncation"`
	Usage              *usage          `json:"usage"`
	User               *string         `json:"user"`
	Metadata           json.RawMessage `json:"metadata"`
}

type errorObject struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incomplete struct {
	Reason string `json:"reason"`
}

type usage struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

func wireUsage(u *llm.Usage) *usage {
	if u == nil {
		return nil
	}
	w := &usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.Total()}
	w.InputTokensDetails.CachedTokens = u.CacheReadTokens
	w.OutputTokensDetails.ReasoningTokens = u.ReasoningTokens
	return w
}

type messageItem struct {
	Type    string       `json:"type"`
	ID      string       `json:"id"`
	Status  string       `json:"status"`
	Role    string       `json:"role"`
	Content []outputText `json:"content"`
}

type outputText struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	Annotations []any  `json:"annotations"`
	Logprobs    []any  `json:"logprobs"`
}

func newOutputText(text string) outputText {
	return outputText{Type: "output_text", Text: text, Annotations: []any{}, Logprobs: []any{}}
}

type functionCallItem struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Status    string `json:"status"`
	Arguments string `json:"arguments"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

type reasoningItem struct {
	Type             string          `json:"type"`
	ID               string          `json:"id"`
	Summary          []reasoningText `json:"summary"`
	Content          []reasoningText `json:"content,omitempty"`
	EncryptedContent *string         `json:"encrypted_content,omitempty"`
}

type reasoningText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// shell returns the Response object with the request's echoed fields and
// no output, in status.
func (r *Request) shell(m *Meta, status string) *response {
	o := &response{
		ID: m.ID, Object: "response", CreatedAt: m.CreatedAt, Status: status, Model: m.Model,
		Output: []any{}, ParallelToolCalls: true, Store: r.Store, Truncation: truncation(r.TruncateAuto),
		MaxOutputTokens: r.MaxOutputTokens, Temperature: orOne(r.Chat.Temperature), TopP: orOne(r.Chat.TopP),
		Reasoning:  orDefault(r.Reasoning, `{"effort":null,"summary":null}`),
		Text:       orDefault(r.Text, `{"format":{"type":"text"}}`),
		ToolChoice: orDefault(r.ToolChoice, `"auto"`), Tools: orDefault(r.Tools, `[]`),
		Metadata: orDefault(r.Metadata, `{}`),
	}
	if r.Chat.ParallelToolCalls != nil {
		o.ParallelToolCalls = *r.Chat.ParallelToolCalls
	}
	if r.Instructions != "" {
		o.Instructions = &r.Instructions
	}
	if r.PreviousResponseID != "" {
		o.PreviousResponseID = &r.PreviousResponseID
	}
	if r.Chat.User != "" {
		o.User = &r.Chat.User
	}
	return o
}

// orOne echoes a sampling parameter the request left unset as the API's
// default, 1, as OpenAI's Response object does.
func orOne(v *float64) *float64 {
	if v != nil {
		return v
	}
	one := 1.0
	return &one
}

// itemStatus is an output item's status for the answer's finish reason:
// "incomplete" when max_output_tokens or a content filter cut it.
func itemStatus(reason string) string {
	switch reason {
	case llm.FinishLength, llm.FinishContentFilter:
		return "incomplete"
	}
	return "completed"
}

func orDefault(raw json.RawMessage, def string) json.RawMessage {
	if isNull(raw) {
		return json.RawMessage(def)
	}
	return raw
}

// finish sets status and incomplete_details from a finish reason.
func (o *response) finish(reason string) {
	o.Status = "completed"
	switch reason {
	case llm.FinishLength:
		o.Status, o.IncompleteDetails = "incomplete", &incomplete{Reason: "max_output_tokens"}
	case llm.FinishContentFilter:
		o.Status, o.IncompleteDetails = "incomplete", &incomplete{Reason: "content_filter"}
	}
}

// toolName maps a flattened namespace tool name back.
func (r *Request) toolName(flat string) (name, namespace string) {
	if ns, ok := r.Namespaced[flat]; ok {
		return ns[1], ns[0]
	}
	return flat, ""
}

// thoughtItem is a reasoning output item.
func (r *Request) thoughtItem(id string, t *llm.Thought) *reasoningItem {
	it := &reasoningItem{Type: "reasoning", ID: id, Summary: []reasoningText{}}
	if t.Text != "" {
		it.Content = []reasoningText{{Type: "reasoning_text", Text: t.Text}}
	}
	sig := t.Signature
	if sig == "" {
		sig = t.Redacted
	}
	if r.Encrypted && sig != "" {
		it.EncryptedContent = &sig
	}
	return it
}

// EncodeResponse encodes a complete canonical answer as a Response object.
func (r *Request) EncodeResponse(m *Meta, resp *llm.ChatResponse) ([]byte, error) {
	o := r.shell(m, "completed")
	if len(resp.Choices) > 0 {
		ch := &resp.Choices[0]
		for i := range ch.Message.Thoughts {
			o.Output = append(o.Output, r.thoughtItem(itemID("rs", m.ID, len(o.Output)), &ch.Message.Thoughts[i]))
		}
		if text := ch.Message.Text(); text != "" {
			o.Output = append(o.Output, &messageItem{Type: "message", ID: itemID("msg", m.ID, len(o.Output)), Status: itemStatus(ch.FinishReason),
				Role: "assistant", Content: []outputText{newOutputText(text)}})
		}
		for _, tc := range ch.Message.ToolCalls {
			name, ns := r.toolName(tc.Name)
			o.Output = append(o.Output, &functionCallItem{Type: "function_call", ID: itemID("fc", m.ID, len(o.Output)),
				Status: itemStatus(ch.FinishReason), Arguments: tc.Arguments, CallID: tc.ID, Name: name, Namespace: ns})
		}
		o.finish(ch.FinishReason)
	}
	o.Usage = wireUsage(resp.Usage)
	return json.Marshal(o)
}

// itemID derives an output item's id from the response's.
// ItemOf is the inverse of itemID: the response an output item id of
// Fulcrum's names and the item's index in its output. ok is false for an
// id Fulcrum did not make this way (an upstream's, a client's).
func ItemOf(id string) (respID string, n int, ok bool) {
	_, rest, found := strings.Cut(id, "_")
	at := strings.LastIndexByte(rest, '_')
	if !found || at <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(rest[at+1:])
	if err != nil || n < 0 || itoa(n) != rest[at+1:] {
		return "", 0, false
	}
	return "resp_" + rest[:at], n, true
}

func itemID(prefix, respID string, n int) string {
	id := respID
	if len(id) > 5 && id[:5] == "resp_" {
		id = id[5:]
	}
	return prefix + "_" + id + "_" + itoa(n)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// truncation is the Response object's truncation: what the request asked.
func truncation(auto bool) string {
	if auto {
		return "auto"
	}
	return "disabled"
}
