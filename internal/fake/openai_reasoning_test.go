package fake

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func postChat(t *testing.T, f *OpenAI, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", f.URL+"/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestOpenAIReasoningModes(t *testing.T) {
	f := NewOpenAI()
	defer f.Close()
	const prompt = "say pong"
	for _, mode := range []Reasoning{ReasoningContent, ReasoningField, ThinkTags} {
		f.SetReasoning(mode)
		// Not streamed.
		resp := postChat(t, f, `{"model":"qwen3","messages":[{"role":"user","content":"`+prompt+`"}]}`)
		var w struct {
			Choices []struct {
				Message map[string]any `json:"message"`
			} `json:"choices"`
			Usage oaiUsage `json:"usage"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
			t.Fatal(err)
		}
		m := w.Choices[0].Message
		switch mode {
		case ThinkTags:
			if m["content"] != "<think>\n"+Thought(prompt)+"\n</think>\n\n"+Reply(prompt) || m["reasoning_content"] != nil {
				t.Errorf("%s: message %v", mode, m)
			}
		default:
			if m[string(mode)] != Thought(prompt) || m["content"] != Reply(prompt) {
				t.Errorf("%s: message %v", mode, m)
			}
		}
		if w.Usage.CompletionTokensDetails.ReasoningTokens != ReasoningTokens {
			t.Errorf("%s: usage %+v", mode, w.Usage)
		}
		// Streamed: the deltas join to the same fields.
		resp = postChat(t, f, `{"model":"qwen3","stream":true,"messages":[{"role":"user","content":"`+prompt+`"}]}`)
		fields := map[string]*strings.Builder{"content": {}, "reasoning_content": {}, "reasoning": {}}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
			if !ok || string(data) == "[DONE]" {
				continue
			}
			var c struct {
				Choices []struct {
					Delta map[string]any `json:"delta"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			for _, ch := range c.Choices {
				for k, b := range fields {
					if s, ok := ch.Delta[k].(string); ok {
						b.WriteString(s)
					}
				}
			}
		}
		if mode == ThinkTags {
			if got := fields["content"].String(); got != "<think>\n"+Thought(prompt)+"\n</think>\n\n"+Reply(prompt) {
				t.Errorf("%s streamed content %q", mode, got)
			}
		} else if fields[string(mode)].String() != Thought(prompt) || fields["content"].String() != Reply(prompt) {
			t.Errorf("%s streamed %q / %q", mode, fields[string(mode)], fields["content"])
		}
	}

	// Thinking turned off, and vLLM's check of the effort.
	f.SetReasoning(ReasoningContent)
	resp := postChat(t, f, `{"model":"qwen3","chat_template_kwargs":{"enable_thinking":false},"messages":[{"role":"user","content":"hi"}]}`)
	var w map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&w)
	if strings.Contains(mustJSON(w), "reasoning_content") {
		t.Errorf("thinking off still reasons: %v", w)
	}
	if resp := postChat(t, f, `{"model":"qwen3","reasoning_effort":"xhigh","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 400 {
		t.Errorf("reasoning_effort xhigh: status %d, want 400", resp.StatusCode)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
