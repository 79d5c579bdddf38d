package responses

import (
	"encoding/json"
	"flag"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/golden"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want.* golden files")

// goldenMeta names every encoded Response.
var goldenMeta = &Meta{ID: "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b", CreatedAt: 1741476542, Model: "gpt-4.1-2025-04-14"}

// goldenKinds maps a testdata file-name prefix to the function under test.
// The inputs are request bodies from the API reference
// (platform.openai.com/docs/api-reference/responses/create, its examples:
// text input, image input, function calling, reasoning, streaming) and
// the documented stream; the wants were checked by hand against the
// reference's Response object and streaming event sequence
// (response.created, response.in_progress, response.output_item.added,
// response.content_part.added, response.output_text.delta ...,
// response.output_text.done, response.content_part.done,
// response.output_item.done, response.completed; function calls with
// response.function_call_arguments.delta/.done; error + response.failed on
// a cut). Unset temperature and top_p are echoed as OpenAI echoes them,
// at their default 1; in an incomplete response (max_output_tokens, a
// content filter) the output items are "incomplete" too, as OpenAI's are.
var goldenKinds = map[string]golden.Kind{
	// Ingress: a Responses request -> the canonical request.
	"decreq": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		r, err := DecodeRequest(in)
		if err != nil {
			return golden.ResultJSON(t, nil, err)
		}
		return golden.ResultJSON(t, r.Chat, nil)
	}},
	// Ingress: {"request": body, "response": canonical answer} -> the
	// Response object.
	"encresp": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		var w struct {
			Request  json.RawMessage
			Response llm.ChatResponse
		}
		golden.MustUnmarshal(t, in, &w)
		r, err := DecodeRequest(w.Request)
		if err != nil {
			t.Fatal(err)
		}
		body, err := r.EncodeResponse(goldenMeta, &w.Response)
		return golden.RawResultJSON(t, body, err)
	}},
	// Ingress: {"request": body, "chunks": [...]} -> the event stream; a
	// final {"Error": {...}} step cuts it (error + response.failed).
	"streamenc": {WantExt: "sse", Run: func(t *testing.T, in []byte) []byte {
		var w struct {
			Request json.RawMessage
			Chunks  []struct {
				llm.Chunk
				Error *llm.Error
			}
		}
		golden.MustUnmarshal(t, in, &w)
		r, err := DecodeRequest(w.Request)
		if err != nil {
			t.Fatal(err)
		}
		e := r.NewStreamEncoder(goldenMeta)
		var b []byte
		for i := range w.Chunks {
			if w.Chunks[i].Error != nil {
				return e.Fail(b, w.Chunks[i].Error)
			}
			b = e.Append(b, &w.Chunks[i].Chunk)
		}
		return e.Done(b)
	}},
}

func TestGolden(t *testing.T) { golden.Run(t, goldenKinds, *update) }
