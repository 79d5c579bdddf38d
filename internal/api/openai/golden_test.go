package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want.* golden files")

// goldenKinds maps a testdata file-name prefix to the function under test.
// Inputs are testdata/<kind>_<case>.in.<ext>, outputs <kind>_<case>.want.<ext>.
var goldenKinds = map[string]struct {
	wantExt string
	run     func(t *testing.T, in []byte) []byte
}{
	// Ingress: client request -> canonical.
	"decreq": {"json", func(t *testing.T, in []byte) []byte {
		req, err := DecodeChatRequest(in)
		return resultJSON(t, req, err)
	}},
	// Egress: canonical -> upstream request body.
	"encreq": {"json", func(t *testing.T, in []byte) []byte {
		var req llm.ChatRequest
		mustUnmarshal(t, in, &req)
		body, err := EncodeChatRequest(&req)
		return rawResultJSON(t, body, err)
	}},
	// Ingress: canonical answer -> chat.completion.
	"encresp": {"json", func(t *testing.T, in []byte) []byte {
		var resp llm.ChatResponse
		mustUnmarshal(t, in, &resp)
		body, err := EncodeChatResponse(&resp)
		return rawResultJSON(t, body, err)
	}},
	// Egress: upstream chat.completion -> canonical.
	"decresp": {"json", func(t *testing.T, in []byte) []byte {
		resp, err := DecodeChatResponse(in)
		return resultJSON(t, resp, err)
	}},
	// Egress: upstream SSE stream -> canonical chunks.
	"streamdec": {"json", func(t *testing.T, in []byte) []byte {
		return decodeStream(t, in)
	}},
	// Ingress: canonical chunks -> SSE. The input is {"include_usage":
	// bool, "steps": [chunk...]}; a step {"Error": {...}} ends the stream
	// with an error event instead of Done.
	"streamenc": {"sse", func(t *testing.T, in []byte) []byte {
		var script struct {
			IncludeUsage bool `json:"include_usage"`
			Steps        []struct {
				llm.Chunk
				Error *llm.Error
			} `json:"steps"`
		}
		mustUnmarshal(t, in, &script)
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
	"err": {"json", func(t *testing.T, in []byte) []byte {
		var e llm.Error
		mustUnmarshal(t, in, &e)
		return rawResultJSON(t, EncodeError(&e), nil)
	}},
	// Ingress: client embeddings request -> canonical.
	"embreq": {"json", func(t *testing.T, in []byte) []byte {
		req, err := DecodeEmbedRequest(in)
		return resultJSON(t, req, err)
	}},
	// Ingress: canonical vectors -> embeddings list. Input:
	// {"format": "...", "model": "...", "resp": {...}}.
	"embresp": {"json", func(t *testing.T, in []byte) []byte {
		var v struct {
			Format string
			Model  string
			Resp   llm.EmbedResponse
		}
		mustUnmarshal(t, in, &v)
		body, err := EncodeEmbedResponse(&v.Resp, v.Model, v.Format)
		return rawResultJSON(t, body, err)
	}},
	// Egress: upstream embeddings list -> canonical.
	"embdec": {"json", func(t *testing.T, in []byte) []byte {
		resp, err := DecodeEmbedResponse(in)
		return resultJSON(t, resp, err)
	}},
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.in.*")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range files {
		base := filepath.Base(in)
		name := base[:strings.Index(base, ".in.")]
		kind, _, _ := strings.Cut(name, "_")
		k, ok := goldenKinds[kind]
		if !ok {
			t.Errorf("%s: unknown golden kind %q", in, kind)
			continue
		}
		t.Run(name, func(t *testing.T) {
			input, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := k.run(t, input)
			wantFile := filepath.Join("testdata", name+".want."+k.wantExt)
			if *update {
				if err := os.WriteFile(wantFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", wantFile, diff)
			}
		})
	}
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("bad test input: %v", err)
	}
}

// errJSON is how golden files show an error: what a client would see.
type errJSON struct {
	Status  int
	Type    string
	Code    string `json:",omitempty"`
	Param   string `json:",omitempty"`
	Message string
}

func asErrJSON(t *testing.T, err error) errJSON {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, want *llm.Error: %v", err, err)
	}
	return errJSON{Status: e.Status, Type: e.Type, Code: e.Code, Param: e.Param, Message: e.Message}
}

func resultJSON(t *testing.T, v any, err error) []byte {
	t.Helper()
	if err != nil {
		v = map[string]errJSON{"error": asErrJSON(t, err)}
	}
	b, merr := json.MarshalIndent(v, "", "  ")
	if merr != nil {
		t.Fatal(merr)
	}
	return append(b, '\n')
}

func rawResultJSON(t *testing.T, body []byte, err error) []byte {
	t.Helper()
	if err != nil {
		return resultJSON(t, nil, err)
	}
	if !json.Valid(body) {
		t.Fatalf("output is not valid JSON: %s", body)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// decodeStream feeds an SSE file through StreamDecoder and records every
// step that produced something, then how the stream ended.
func decodeStream(t *testing.T, in []byte) []byte {
	t.Helper()
	type step struct {
		Chunks []llm.Chunk `json:",omitempty"`
		Done   bool        `json:",omitempty"`
		Error  *errJSON    `json:",omitempty"`
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
			e := asErrJSON(t, perr)
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
	return resultJSON(t, out, nil)
}
