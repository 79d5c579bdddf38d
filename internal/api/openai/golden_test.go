package openai

import (
	"bytes"
	"flag"
	"io"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/golden"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want.* golden files")

// goldenKinds maps a testdata file-name prefix to the function under test.
// Inputs are testdata/<kind>_<case>.in.<ext>, outputs <kind>_<case>.want.<ext>.
var goldenKinds = map[string]golden.Kind{
	// Ingress: client request -> canonical.
	"decreq": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		req, err := DecodeChatRequest(in)
		return golden.ResultJSON(t, req, err)
	}},
	// Egress: canonical -> upstream request body.
	"encreq": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		var req llm.ChatRequest
		golden.MustUnmarshal(t, in, &req)
		body, err := EncodeChatRequest(&req)
		return golden.RawResultJSON(t, body, err)
	}},
	// Ingress: canonical answer -> chat.completion.
	"encresp": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		var resp llm.ChatResponse
		golden.MustUnmarshal(t, in, &resp)
		body, err := EncodeChatResponse(&resp)
		return golden.RawResultJSON(t, body, err)
	}},
	// Egress: upstream chat.completion -> canonical.
	"decresp": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		resp, err := DecodeChatResponse(in)
		return golden.ResultJSON(t, resp, err)
	}},
	// Egress: upstream SSE stream -> canonical chunks.
	"streamdec": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		return decodeStream(t, in)
	}},
	// Ingress: canonical chunks -> SSE. The input is {"include_usage":
	// bool, "steps": [chunk...]}; a step {"Error": {...}} ends the stream
	// with an error event instead of Done.
	"streamenc": {WantExt: "sse", Run: func(t *testing.T, in []byte) []byte {
		var script struct {
			IncludeUsage bool `json:"include_usage"`
			Steps        []struct {
				llm.Chunk
				Error *llm.Error
			} `json:"steps"`
		}
		golden.MustUnmarshal(t, in, &script)
		e := NewStreamEncoder("chatcmpl-abc123", "gpt-4o", 1700000000, script.IncludeUsage)
		var b []byte
		for i := range script.Steps {
			if script.Steps[i].Error != nil {
				return AppendStreamError(b, script.Steps[i].Error)
			}
			b = e.Append(b, &script.Steps[i].Chunk)
		}
		return e.Done(b)
	}},
	// Ingress: *llm.Error -> OpenAI error object.
	"err": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		var e llm.Error
		golden.MustUnmarshal(t, in, &e)
		return golden.RawResultJSON(t, EncodeError(&e), nil)
	}},
	// Ingress: client embeddings request -> canonical.
	"embreq": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		req, err := DecodeEmbedRequest(in)
		return golden.ResultJSON(t, req, err)
	}},
	// Ingress: canonical vectors -> embeddings list. Input:
	// {"format": "...", "model": "...", "resp": {...}}.
	"embresp": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		var v struct {
			Format string
			Model  string
			Resp   llm.EmbedResponse
		}
		golden.MustUnmarshal(t, in, &v)
		body, err := EncodeEmbedResponse(&v.Resp, v.Model, v.Format)
		return golden.RawResultJSON(t, body, err)
	}},
	// Egress: upstream embeddings list -> canonical.
	"embdec": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		resp, err := DecodeEmbedResponse(in)
		return golden.ResultJSON(t, resp, err)
	}},
}

func TestGolden(t *testing.T) { golden.Run(t, goldenKinds, *update) }

// decodeStream feeds an SSE file through StreamDecoder and records every
// step that produced something, then how the stream ended.
func decodeStream(t *testing.T, in []byte) []byte {
	t.Helper()
	type step struct {
		Chunks []llm.Chunk     `json:",omitempty"`
		Done   bool            `json:",omitempty"`
		Error  *golden.ErrJSON `json:",omitempty"`
	}
	var out struct {
		Steps    []step
		Finished bool
		End      string
	}
	d := NewStreamDecoder()
	r := sse.NewDecoder(bytes.NewReader(in))
	for {
		ev, err := r.Next()
		if err != nil {
			out.End = err.Error()
			if err == io.EOF {
				out.End = "EOF"
			}
			break
		}
		chunks, done, perr := d.Process(ev.Data)
		s := step{Chunks: chunks, Done: done}
		if perr != nil {
			e := golden.AsErrJSON(t, perr)
			s.Error = &e
		}
		if len(chunks) > 0 || done || perr != nil {
			out.Steps = append(out.Steps, s)
		}
		if done || perr != nil {
			out.End = "stopped"
			break
		}
	}
	out.Finished = d.Finished()
	return golden.ResultJSON(t, out, nil)
}
