package anthropic

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
	// Ingress: client Anthropic request -> canonical.
	"decreq": {"json", func(t *testing.T, in []byte) []byte {
		req, err := DecodeMessagesRequest(in)
		return resultJSON(t, req, err)
	}},
	// Egress: canonical -> Anthropic request body.
	"encreq": {"json", func(t *testing.T, in []byte) []byte {
		var req llm.ChatRequest
		mustUnmarshal(t, in, &req)
		body, err := EncodeMessagesRequest(&req)
		return rawResultJSON(t, body, err)
	}},
	// Ingress: canonical answer -> Anthropic Message.
	"encresp": {"json", func(t *testing.T, in []byte) []byte {
		var resp llm.ChatResponse
		mustUnmarshal(t, in, &resp)
		body, err := EncodeMessagesResponse(&resp)
		return rawResultJSON(t, body, err)
	}},
	// Egress: upstream Anthropic Message -> canonical.
	"decresp": {"json", func(t *testing.T, in []byte) []byte {
		resp, err := DecodeMessagesResponse(in)
		return resultJSON(t, resp, err)
	}},
	// Egress: upstream event stream -> canonical chunks.
	"streamdec": {"json", func(t *testing.T, in []byte) []byte {
		return decodeStream(t, in)
	}},
	// Ingress: canonical chunks -> Anthropic event stream. The input is a
	// JSON array of chunks; a final {"Error": {...}} element ends the stream
	// with an error event instead of Done.
	"streamenc": {"sse", func(t *testing.T, in []byte) []byte {
		var steps []struct {
			llm.Chunk
			Error *llm.Error
		}
		mustUnmarshal(t, in, &steps)
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
// chunk, then how the stream ended.
func decodeStream(t *testing.T, in []byte) []byte {
	t.Helper()
	type step struct {
		Event  string
		Chunks []llm.Chunk `json:",omitempty"`
		Done   bool        `json:",omitempty"`
		Error  *errJSON    `json:",omitempty"`
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
			e := asErrJSON(t, perr)
			s.Error = &e
		}
		if len(chunks) > 0 || done || perr != nil {
			steps = append(steps, s)
		}
		if done || perr != nil {
			break
		}
	}
	return resultJSON(t, steps, nil)
}
