package replay

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/dataset"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

func newClient(t *testing.T, file, model string) *Client {
	t.Helper()
	c, err := New(config.Provider{Name: "rp", Type: "replay", Hosting: "proprietary", Replay: &config.Replay{File: file, Model: model}},
		WithClock(func() time.Time { return time.Unix(1700000000, 0) }),
		WithIDs(func() string { return "id1" }))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func chat(model, user string) *llm.ChatRequest {
	return &llm.ChatRequest{Model: model, Messages: []llm.Message{
		llm.TextMessage(llm.RoleSystem, "Solve the problem."),
		llm.TextMessage(llm.RoleUser, user),
	}}
}

func TestChat(t *testing.T) {
	const janet = "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
	tests := []struct {
		name, file, model, reqModel, user string
		want                              string // substring of the answer
		wantStatus                        int
		wantCode                          string
	}{
		{name: "exact", file: BuiltinGSM8K, model: dataset.GSM8KStrong, user: janet, want: "$18"},
		{name: "mixtral", file: BuiltinGSM8K, model: dataset.GSM8KWeak, user: janet, want: "#### 18"},
		{name: "ascii quote, case, spaces", file: BuiltinGSM8K, model: dataset.GSM8KStrong,
			user: "  " + strings.ToUpper(strings.ReplaceAll(janet, "’", "'")) + "\n", want: "$18"},
		{name: "wrapped in a template", file: BuiltinGSM8K, model: dataset.GSM8KStrong,
			user: "Question: " + janet + "\nThink step by step and end with #### and the number.", want: "$18"},
		{name: "unknown prompt", file: BuiltinGSM8K, model: dataset.GSM8KStrong,
			user: "How many eggs does Janet's goose lay?", wantStatus: 404, wantCode: "no_recorded_answer"},
		{name: "differs in a number", file: BuiltinGSM8K, model: dataset.GSM8KStrong,
			user: strings.Replace(janet, "16", "17", 1), wantStatus: 404, wantCode: "no_recorded_answer"},
		{name: "jsonl", file: "testdata/small.jsonl", model: "m2", user: "what is the capital of france?", want: "Paris."},
		{name: "jsonl smart quotes", file: "testdata/small.jsonl", model: "m1", user: `say "hello" to the world, please.`, want: "hello, world"},
		{name: "model from request", file: "testdata/small.jsonl", reqModel: "m1", user: "What is the capital of France?", want: "The capital"},
		{name: "model from request unknown", file: "testdata/small.jsonl", reqModel: "m9", user: "What is the capital of France?", wantStatus: 404, wantCode: "model_not_found"},
		{name: "csv", file: "testdata/small.csv", model: "m1", user: "What is 2+2, exactly?", want: "#### 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.file, tt.model)
			resp, err := c.Chat(context.Background(), permit(c), chat(tt.reqModel, tt.user))
			if tt.wantStatus != 0 {
				var e *llm.Error
				if !errors.As(err, &e) || e.Status != tt.wantStatus || e.Code != tt.wantCode {
					t.Fatalf("err = %v, want %d %s", err, tt.wantStatus, tt.wantCode)
				}
				if strings.Contains(e.Message, "Janet") || strings.Contains(e.Message, "goose") {
					t.Errorf("error message leaks the prompt: %q", e.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := resp.Choices[0].Message.Text()
			if !strings.Contains(got, tt.want) {
				t.Errorf("answer %q does not contain %q", got, tt.want)
			}
			if resp.Usage == nil || !resp.Usage.Estimated || resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 {
				t.Errorf("usage = %+v, want estimated non-zero counts", resp.Usage)
			}
			if resp.Choices[0].FinishReason != llm.FinishStop || resp.ID != "id1" || resp.Created != 1700000000 {
				t.Errorf("resp = %+v", resp)
			}
		})
	}
}

func TestUsageCountsTokens(t *testing.T) {
	c := newClient(t, "testdata/small.jsonl", "m2")
	resp, err := c.Chat(context.Background(), permit(c), &llm.ChatRequest{Messages: []llm.Message{
		llm.TextMessage(llm.RoleUser, "What is the capital of France?"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	// cl100k_base: "What is the capital of France?" is 7 tokens, "Paris." 2;
	// framing adds 3 per message and 3 for the reply.
	want := &llm.Usage{InputTokens: 7 + 3 + 3, OutputTokens: 2, Estimated: true}
	if diff := cmp.Diff(want, resp.Usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
}

func TestMaxTokensAndStop(t *testing.T) {
	c := newClient(t, "testdata/small.jsonl", "m1")
	max := 3
	req := chat("", "What is the capital of France?")
	req.MaxTokens = &max
	resp, err := c.Chat(context.Background(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != "The capital of" || resp.Choices[0].FinishReason != llm.FinishLength || resp.Usage.OutputTokens != 3 {
		t.Errorf("truncated = %q %q %+v", got, resp.Choices[0].FinishReason, resp.Usage)
	}
	req = chat("", "What is the capital of France?")
	req.Stop = []string{" is"}
	resp, err = c.Chat(context.Background(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != "The capital of France" {
		t.Errorf("stopped = %q", got)
	}
}

func TestStream(t *testing.T) {
	c := newClient(t, BuiltinGSM8K, dataset.GSM8KStrong)
	const q = "James decides to run 3 sprints 3 times a week.  He runs 60 meters each sprint.  How many total meters does he run a week?"
	full, err := c.Chat(context.Background(), permit(c), chat("gpt-4", q))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.ChatStream(context.Background(), permit(c), chat("gpt-4", q))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []llm.Chunk
	for {
		ch, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, *ch)
	}
	if len(got) < 5 {
		t.Fatalf("only %d chunks", len(got))
	}
	if got[0].Role != llm.RoleAssistant || got[0].Text != "" {
		t.Errorf("first chunk = %+v", got[0])
	}
	var text strings.Builder
	for _, ch := range got[1 : len(got)-2] {
		if ch.Text == "" || ch.FinishReason != "" || ch.Usage != nil {
			t.Errorf("middle chunk = %+v", ch)
		}
		text.WriteString(ch.Text)
	}
	if text.String() != full.Choices[0].Message.Text() {
		t.Errorf("streamed text differs from the answer")
	}
	if f := got[len(got)-2]; f.FinishReason != llm.FinishStop {
		t.Errorf("finish chunk = %+v", f)
	}
	if u := got[len(got)-1].Usage; u == nil || *u != *full.Usage {
		t.Errorf("usage chunk = %+v, want %+v", u, full.Usage)
	}
	if ch, err := st.Recv(); err != io.EOF {
		t.Errorf("after the end: %v %v", ch, err)
	}
}

func TestStreamCancelled(t *testing.T) {
	c := newClient(t, "testdata/small.jsonl", "m1")
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.ChatStream(ctx, permit(c), chat("", "What is the capital of France?"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := st.Recv(); !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: %v, want context.Canceled", err)
	}
}

func TestEmbedUnsupported(t *testing.T) {
	c := newClient(t, "testdata/small.jsonl", "m1")
	_, err := c.Embed(context.Background(), permit(c), &llm.EmbedRequest{Input: []string{"x"}})
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 400 || !errors.Is(err, provider.ErrNoEmbeddings) {
		t.Errorf("embed err = %v", err)
	}
	if c.Info().Hosting != provider.Proprietary || c.Info().Type != "replay" {
		t.Errorf("info = %+v", c.Info())
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  *config.Replay
		want string
	}{
		{"no file", nil, "replay.file is required"},
		{"missing file", &config.Replay{File: "testdata/nope.jsonl"}, "no such file"},
		{"bad builtin", &config.Replay{File: "builtin:mmlu"}, "unknown built-in"},
		{"bad ext", &config.Replay{File: "replay_test.go"}, "want a .csv or .jsonl"},
		{"model not recorded", &config.Replay{File: BuiltinGSM8K, Model: "gpt-5"}, "not in the recording"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(config.Provider{Name: "rp", Replay: tt.cfg})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// Every GSM8K question keeps its own answer after normalisation: no two
// questions collapse into one key.
func TestGSM8KNormalisedPromptsDistinct(t *testing.T) {
	rec, err := Load(BuiltinGSM8K)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{dataset.GSM8KStrong, dataset.GSM8KWeak}, rec.Models()); diff != "" {
		t.Fatal(diff)
	}
	for _, m := range rec.Models() {
		if n := rec.Len(m); n != 1319 {
			t.Errorf("%s: %d prompts, want 1319", m, n)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  Hello\u00a0\tWorld \n", "hello world"},
		{"Janet’s “ducks” – 16…", `janet's "ducks" - 16...`},
		{"ÉCOLE", "école"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestLookupContainedBounded: a recorded prompt is found inside a
// template, but not inside a text of more than maxContaining bytes, which
// is searched once per recorded prompt (a 14 MB prompt cost 4.9 s of CPU
// on the demo); such a text still matches exactly.
func TestLookupContainedBounded(t *testing.T) {
	rec, err := Load(BuiltinGSM8K)
	if err != nil {
		t.Fatal(err)
	}
	const q = "James decides to run 3 sprints 3 times a week.  He runs 60 meters each sprint.  How many total meters does he run a week?"
	if _, ok := rec.Lookup(dataset.GSM8KStrong, "Question: "+q+"\nAnswer step by step."); !ok {
		t.Fatal("a recorded prompt in a short template is not found")
	}
	pad := strings.Repeat("x", maxContaining)
	if _, ok := rec.Lookup(dataset.GSM8KStrong, pad+" "+q); ok {
		t.Errorf("a recorded prompt inside %d bytes was searched for, want exact matches only", maxContaining+len(q)+1)
	}
	if _, ok := rec.Lookup(dataset.GSM8KStrong, pad[:maxContaining-len(q)-1]+" "+q); !ok {
		t.Errorf("a recorded prompt ending a text of exactly %d bytes is not found", maxContaining)
	}
}

func BenchmarkLookupExact(b *testing.B) {
	rec, _ := Load(BuiltinGSM8K)
	const q = "James decides to run 3 sprints 3 times a week.  He runs 60 meters each sprint.  How many total meters does he run a week?"
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := rec.Lookup(dataset.GSM8KStrong, q); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkLookupContained(b *testing.B) {
	rec, _ := Load(BuiltinGSM8K)
	const q = "Question: James decides to run 3 sprints 3 times a week.  He runs 60 meters each sprint.  How many total meters does he run a week?\nAnswer step by step."
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := rec.Lookup(dataset.GSM8KStrong, q); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkChatStream(b *testing.B) {
	c, _ := New(config.Provider{Name: "rp", Replay: &config.Replay{File: BuiltinGSM8K, Model: dataset.GSM8KWeak}})
	req := chat("m", "James decides to run 3 sprints 3 times a week.  He runs 60 meters each sprint.  How many total meters does he run a week?")
	b.ReportAllocs()
	for b.Loop() {
		st, err := c.ChatStream(context.Background(), permit(c), req)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := st.Recv(); err != nil {
				break
			}
		}
	}
}
