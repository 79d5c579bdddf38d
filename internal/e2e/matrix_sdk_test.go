package e2e

import (
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	oa "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// TestMatrixResponsesAndThinking drives the official openai-go Responses
// client and anthropic-sdk-go with thinking, streaming and not, against
// every provider kind of the matrix.
func TestMatrixResponsesAndThinking(t *testing.T) {
	u := startUpstreams(t)
	g := startGateway(t, u.config(), "FULCRUM_MASTER_KEY="+masterKey)
	oc := openaiClient(g)
	ac := anthropicClient(g)
	for _, pm := range providerModels {
		t.Run("responses/"+pm.model, func(t *testing.T) {
			const prompt = "Hello from the Responses client"
			resp, err := oc.Responses.New(ctxT(t), responses.ResponseNewParams{
				Model: pm.model, Input: responses.ResponseNewParamsInputUnion{OfString: oa.String(prompt)}})
			if err != nil {
				t.Fatalf("non-streaming: %v", err)
			}
			if got := resp.OutputText(); got != fake.Reply(prompt) {
				t.Errorf("text = %q, want %q", got, fake.Reply(prompt))
			}
			if resp.Usage.InputTokens != fake.InputTokens || resp.Usage.OutputTokens != fake.OutputTokens {
				t.Errorf("usage = %+v", resp.Usage)
			}
			st := oc.Responses.NewStreaming(ctxT(t), responses.ResponseNewParams{
				Model: pm.model, Input: responses.ResponseNewParamsInputUnion{OfString: oa.String(prompt)}})
			var text string
			var completed bool
			var created int
			for st.Next() {
				ev := st.Current()
				switch ev.Type {
				case "response.created":
					created++
				case "response.output_text.delta":
					text += ev.Delta
				case "response.completed":
					completed = true
					if ev.Response.Usage.OutputTokens != fake.OutputTokens {
						t.Errorf("streamed usage = %+v", ev.Response.Usage)
					}
				}
			}
			if err := st.Err(); err != nil || created != 1 || !completed || text != fake.Reply(prompt) {
				t.Errorf("stream: text %q created %d completed %v err %v", text, created, completed, err)
			}
		})
		t.Run("anthropic-thinking/"+pm.model, func(t *testing.T) {
			const prompt = "Hello from a thinking client"
			for _, th := range []struct {
				name string
				cfg  anthropic.ThinkingConfigParamUnion
			}{
				{"adaptive", anthropic.ThinkingConfigParamUnion{OfAdaptive: &anthropic.ThinkingConfigAdaptiveParam{}}},
				{"budget", anthropic.ThinkingConfigParamOfEnabled(2048)},
			} {
				params := anthropic.MessageNewParams{
					Model: anthropic.Model(pm.model), MaxTokens: 4096, Thinking: th.cfg,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
				}
				msg, err := ac.Messages.New(ctxT(t), params)
				if th.name == "budget" && refusesThinking[pm.model] != "" {
					// An explicit budget where it cannot be honoured is
					// refused with a 400 naming why, never dropped.
					if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), refusesThinking[pm.model]) {
						t.Errorf("%s: err = %v, want a 400 containing %q", th.name, err, refusesThinking[pm.model])
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s non-streaming: %v", th.name, err)
				}
				text, thoughts := anthropicBlocks(msg.Content)
				if text != fake.Reply(prompt) {
					t.Errorf("%s: text = %q", th.name, text)
				}
				// The Gemini fakes think when asked (thought parts), and
				// Claude for a budget (Sonnet 4.5 on Bedrock does not take
				// adaptive thinking, so that hint is dropped; the
				// Anthropic fake, direct or on Vertex, thinks for a budget
				// only); the others answer without a thought.
				claude := pm.model == "m-bedrock" || pm.model == "m-anthropic" || pm.model == "m-vertex-claude"
				wantThought := pm.provider == "p-gemini" || pm.model == "m-vertex-gemini" || claude && th.name == "budget"
				if (thoughts > 0) != wantThought {
					t.Errorf("%s: %d thinking blocks, want thought %v", th.name, thoughts, wantThought)
				}
				st := ac.Messages.NewStreaming(ctxT(t), params)
				var acc anthropic.Message
				for st.Next() {
					if err := acc.Accumulate(st.Current()); err != nil {
						t.Fatal(err)
					}
				}
				if err := st.Err(); err != nil {
					t.Fatalf("%s streaming: %v", th.name, err)
				}
				if st, sth := anthropicBlocks(acc.Content); st != text || sth != thoughts {
					t.Errorf("%s: streamed %q with %d thoughts, non-streamed %q with %d", th.name, st, sth, text, thoughts)
				}
			}
		})
	}
}

// refusesThinking are the matrix models an explicit thinking budget is
// refused for, with what the refusal says: Ollama's llama3.2 cannot think
// (Ollama's own 400), Azure's gpt-4o takes no reasoning_effort (Azure's
// own 400), and mistral-large-latest is not one of Mistral's reasoning
// models (unsupported_parameter naming the field).
var refusesThinking = map[string]string{
	"m-ollama":  "does not support thinking",
	"m-azure":   "'reasoning_effort' is not supported with this model",
	"m-mistral": `parameter \"thinking\" is not supported`,
}

// anthropicBlocks returns a message's text and its number of thinking blocks.
func anthropicBlocks(blocks []anthropic.ContentBlockUnion) (text string, thoughts int) {
	for _, b := range blocks {
		switch b.Type {
		case "text":
			text += b.Text
		case "thinking":
			thoughts++
		}
	}
	return text, thoughts
}
