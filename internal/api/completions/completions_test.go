package completions

import (
	"runtime"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func TestDecodePromptShapes(t *testing.T) {
	for _, c := range []struct {
		body, native string
		prompts      int
		tokens       int
	}{
		{`{"model":"m","prompt":"a"}`, "", 1, 0},
		{`{"model":"m","prompt":["a"]}`, "", 1, 0},
		{`{"model":"m","prompt":["a","b"]}`, "prompt", 2, 0},
		{`{"model":"m","prompt":[1,2]}`, "prompt", 0, 1},
		{`{"model":"m","prompt":[[1],[2,3]]}`, "prompt", 0, 2},
		{`{"model":"m","prompt":[ [1], [] , [2 , 3]]}`, "prompt", 0, 3},
		{`{"model":"m","prompt":[ 1 ,2]}`, "prompt", 0, 1},
		{`{"model":"m","prompt":"a","suffix":""}`, "", 1, 0},
		{`{"model":"m","prompt":"a","suffix":"b"}`, "suffix", 1, 0},
		{`{"model":"m","prompt":"a","echo":false,"n":1,"best_of":1,"logit_bias":{}}`, "", 1, 0},
	} {
		r, err := DecodeRequest([]byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		if r.Native != c.native || len(r.Prompts) != c.prompts || len(r.Tokens) != c.tokens {
			t.Errorf("%s: native %q prompts %d tokens %d", c.body, r.Native, len(r.Prompts), len(r.Tokens))
		}
		if tr := r.Translated(); *tr.MaxTokens != DefaultMaxTokens || tr.Messages[0].Role != llm.RoleUser {
			t.Errorf("%s: translated %+v", c.body, tr)
		}
	}
}

// A prompt mixing strings, numbers and arrays, or with an element of none
// of those types, is refused.
func TestDecodePromptMixed(t *testing.T) {
	for _, p := range []string{`[1,"a"]`, `["a",1]`, `[[1],"a"]`, `[[1],2]`, `[1,[2]]`, `[{}]`, `[[1.5]]`, `[true]`, `[]`} {
		_, err := DecodeRequest([]byte(`{"model":"m","prompt":` + p + `}`))
		if e, ok := err.(*llm.Error); !ok || e.Param != "prompt" {
			t.Errorf("prompt %s: %v", p, err)
		}
	}
}

// A prompt of token ids is decoded straight into its type: held first as
// one json.RawMessage per id (24 bytes each, in a slice grown by
// doubling), 5 million ids in a 15 MB body peaked at 535 MB. What the
// decoder allocates stays within a few times the body.
func TestDecodePromptTokensMemory(t *testing.T) {
	ids := strings.Repeat("1000,", 1_000_000) + "1"
	for _, body := range []string{
		`{"model":"m","prompt":[` + ids + `]}`,
		`{"model":"m","prompt":[[` + ids + `]]}`,
		`{"model":"m","prompt":["` + strings.Repeat("a", 5_000_000) + `"]}`,
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, err := DecodeRequest([]byte(body))
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Prompts) == 0 && len(r.Tokens[0]) != 1_000_001 {
			t.Fatalf("%d token ids decoded", len(r.Tokens[0]))
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 6*uint64(len(body)) {
			t.Errorf("%.10s...: %d bytes allocated for a %d-byte body", body[21:], n, len(body))
		}
	}
}

// The completions the upstream bills — best_of (or n) for each prompt —
// reach the budgets' worst case as the chat request's N; best_of is
// range-checked as the API does.
func TestBilledCompletions(t *testing.T) {
	for _, c := range []struct {
		body string
		n    int
	}{
		{`{"model":"m","prompt":"a"}`, 0},
		{`{"model":"m","prompt":"a","n":3}`, 3},
		{`{"model":"m","prompt":"a","n":2,"best_of":5}`, 5},
		{`{"model":"m","prompt":["a","b","c"],"n":2}`, 6},
		{`{"model":"m","prompt":[[1],[2],[3],[4]],"best_of":3}`, 12},
	} {
		r, err := DecodeRequest([]byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		if r.Chat.N != c.n {
			t.Errorf("%s: N = %d, want %d", c.body, r.Chat.N, c.n)
		}
	}
	for _, c := range []struct{ body, want string }{
		{`{"model":"m","prompt":"a","best_of":21}`, "Invalid 'best_of': expected a value between 1 and 20, but got 21 instead."},
		{`{"model":"m","prompt":"a","best_of":0}`, "between 1 and 20"},
		{`{"model":"m","prompt":"a","best_of":9223372036854775807}`, "between 1 and 20"},
		{`{"model":"m","prompt":"a","n":4,"best_of":2}`, "best_of (2) must be greater than or equal to n (4)"},
	} {
		_, err := DecodeRequest([]byte(c.body))
		if le, ok := err.(*llm.Error); !ok || le.Status != 400 || le.Param != "best_of" || !strings.Contains(le.Message, c.want) {
			t.Errorf("%s: %v, want a 400 on best_of saying %q", c.body, err, c.want)
		}
	}
}

// TestStreamSequence: text chunks, a finish chunk with empty text, the
// usage chunk with empty choices (asked for), [DONE]; nothing after.
func TestStreamSequence(t *testing.T) {
	e := NewStreamEncoder(&Meta{ID: "cmpl-1", Model: "m", Created: 7}, true)
	var b []byte
	b = e.Append(b, &llm.Chunk{Role: llm.RoleAssistant})
	b = e.Append(b, &llm.Chunk{Reasoning: "hmm"})
	b = e.Append(b, &llm.Chunk{Text: "Hi"})
	b = e.Append(b, &llm.Chunk{FinishReason: llm.FinishLength, Usage: &llm.Usage{InputTokens: 3, OutputTokens: 1}})
	b = e.Done(b)
	b = e.Append(b, &llm.Chunk{Text: "late"})
	want := `data: {"id":"cmpl-1","object":"text_completion","created":7,"model":"m","choices":[{"text":"Hi","index":0,"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"cmpl-1","object":"text_completion","created":7,"model":"m","choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"length"}],"usage":null}

data: {"id":"cmpl-1","object":"text_completion","created":7,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}

data: [DONE]

`
	if string(b) != want {
		t.Errorf("stream:\n%s\nwant:\n%s", b, want)
	}
	got := string(EncodeResponse(&Meta{ID: "cmpl-2", Model: "m", Created: 7}, &llm.ChatResponse{
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "x"), FinishReason: llm.FinishToolCalls}},
		Usage:   &llm.Usage{InputTokens: 1, OutputTokens: 2}}))
	if !strings.Contains(got, `"finish_reason":"stop"`) || !strings.Contains(got, `"object":"text_completion"`) {
		t.Errorf("response %s", got)
	}
}
