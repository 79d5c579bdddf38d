package anthropic

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
	// Ingress: client Anthropic request -> canonical.
	"decreq": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		req, err := DecodeMessagesRequest(in)
		return golden.ResultJSON(t, req, err)
	}},
	// Egress: canonical -> Anthropic request body.
	"encreq": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		var req llm.ChatRequest
		golden.MustUnmarshal(t, in, &req)
		body, err := EncodeMessagesRequest(&req)
		return golden.RawResultJSON(t, body, err)
	}},
	// Ingress: canonical answer -> Anthropic Message.
	"encresp": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		var resp llm.ChatResponse
		golden.MustUnmarshal(t, in, &resp)
		body, err := EncodeMessagesResponse(&resp)
		return golden.RawResultJSON(t, body, err)
	}},
	// Egress: upstream Anthropic Message -> canonical.
	"decresp": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		resp, err := DecodeMessagesResponse(in)
		return golden.ResultJSON(t, resp, err)
	}},
	// Egress: upstream event stream -> canonical chunks.
	"streamdec": {WantExt: "json", Run: func(t *testing.T, in []byte) []byte {
		return decodeStream(t, in)
	}},
	// Ingress: canonical chunks -> Anthropic event stream. The input is a
	// JSON array of chunks; a final {"Error": {...}} element ends the stream
	// with an error event instead of Done.
	"streamenc": {WantExt: "sse", Run: func(t *testing.T, in []byte) []byte {
		var steps []struct {
			llm.Chunk
			Error *llm.Error
		}
		golden.MustUnmarshal(t, in, &steps)
		e := NewStreamEncoder("chatcmpl-abc123", "claude-sonnet-4-5")
		var b []byte
		for i := range steps {
			if steps[i].Error != nil {
				return AppendStreamError(b, steps[i].Error)
			}
			b = e.Append(b, &steps[i].Chunk)
		}
		return e.Done(b)
	}},
}

func TestGolden(t *testing.T) { golden.Run(t, goldenKinds, *update) }

// decodeStream feeds an SSE file through StreamDecoder and records every
// chunk, then how the stream ended.
func decodeStream(t *testing.T, in []byte) []byte {
	t.Helper()
	type step struct {
		Event  string
		Chunks []llm.Chunk     `json:",omitempty"`
		Done   bool            `json:",omitempty"`
		Error  *golden.ErrJSON `json:",omitempty"`
	}
	var steps []step
	d := NewStreamDecoder()
	r := sse.NewDecoder(bytes.NewReader(in))
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks, done, perr := d.Process(ev.Event, ev.Data)
		s := step{Event: ev.Event, Chunks: chunks, Done: done}
		if perr != nil {
			e := golden.AsErrJSON(t, perr)
			s.Error = &e
		}
		if len(chunks) > 0 || done || perr != nil {
			steps = append(steps, s)
		}
		if done || perr != nil {
			break
		}
	}
	return golden.ResultJSON(t, steps, nil)
}
