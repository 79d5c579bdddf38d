package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/jsonscan"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// addGoldenSeeds adds the golden inputs matching pattern to the corpus, on
// top of the committed testdata/fuzz/<Target> files.
func addGoldenSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecodeChatRequest checks that any body either decodes or fails with
// a 400 *llm.Error, and that whatever decodes re-encodes into a body that
// decodes to the same request (egress and ingress agree).
func FuzzDecodeChatRequest(f *testing.F) {
	addGoldenSeeds(f, "decreq_*.in.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeChatRequest(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("error is not a 400 *llm.Error: %v", err)
			}
			return
		}
		enc, err := EncodeChatRequest(req)
		if err != nil {
			return // e.g. images in an assistant message: refused on egress
		}
		if !json.Valid(enc) {
			t.Fatalf("re-encoded body is not JSON: %s", enc)
		}
		if _, err := jsonscan.SetModel(body, "m"); err != nil {
			t.Fatalf("SetModel failed on a body that decodes: %v", err)
		}
		if _, err := DecodeChatRequest(enc); err != nil {
			t.Fatalf("re-encoded body does not decode: %v\n%s", err, enc)
		}
	})
}

// FuzzStreamDecoder feeds arbitrary SSE bytes through the decoder and
// re-encodes every chunk: nothing may panic, errors are *llm.Error, and
// the encoder always writes valid JSON events.
func FuzzStreamDecoder(f *testing.F) {
	addGoldenSeeds(f, "streamdec_*.in.sse")
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewStreamDecoder()
		e := NewStreamEncoder("id", "m", 1, true)
		r := sse.NewDecoder(bytes.NewReader(in))
		var out []byte
		for i := 0; i < 1000; i++ {
			ev, err := r.Next()
			if err != nil {
				break
			}
			chunks, done, perr := d.Process(ev.Data)
			if perr != nil {
				var le *llm.Error
				if !errors.As(perr, &le) {
					t.Fatalf("error is not *llm.Error: %v", perr)
				}
				break
			}
			for i := range chunks {
				out = e.Append(out, &chunks[i])
			}
			if done {
				break
			}
		}
		out = e.Done(out)
		r = sse.NewDecoder(bytes.NewReader(out))
		for {
			ev, err := r.Next()
			if err != nil {
				break
			}
			if string(ev.Data) != "[DONE]" && !json.Valid(ev.Data) {
				t.Fatalf("encoder wrote invalid JSON: %s", ev.Data)
			}
		}
	})
}
