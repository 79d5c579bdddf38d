package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// addGoldenSeeds adds the golden inputs matching pattern to the corpus,
// besides the committed testdata/fuzz corpus.
func addGoldenSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecodeMessagesRequest: client bodies are hostile input. Decoding must
// never panic, must fail only with a 400 *llm.Error, and whatever it accepts
// must encode for an Anthropic upstream or fail with an *llm.Error.
func FuzzDecodeMessagesRequest(f *testing.F) {
	addGoldenSeeds(f, "decreq_*.in.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeMessagesRequest(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("error %v is not a 400 *llm.Error", err)
			}
			return
		}
		if req.Model == "" || req.MaxTokens == nil {
			t.Fatal("accepted a request without model or max_tokens")
		}
		out, err := EncodeMessagesRequest(req)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("encode error %v is not an *llm.Error", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("encoded invalid JSON: %s", out)
		}
	})
}

// FuzzStreamDecoder: upstream streams are bytes Fulcrum does not control.
func FuzzStreamDecoder(f *testing.F) {
	addGoldenSeeds(f, "streamdec_*.in.sse")
	f.Fuzz(func(t *testing.T, stream []byte) {
		d := NewStreamDecoder()
		r := sse.NewDecoder(bytes.NewReader(stream))
		e := NewStreamEncoder("id", "m")
		var out []byte
		for {
			ev, err := r.Next()
			if err != nil {
				if err == io.EOF || err == io.ErrUnexpectedEOF || errors.Is(err, sse.ErrLineTooLong) {
					return
				}
				t.Fatal(err)
			}
			chunks, done, err := d.Process(ev.Event, ev.Data)
			if err != nil {
				var le *llm.Error
				if !errors.As(err, &le) {
					t.Fatalf("error %v is not an *llm.Error", err)
				}
				return
			}
			// Whatever was decoded must re-encode as valid events.
			for i := range chunks {
				out = e.Append(out[:0], &chunks[i])
				checkEvents(t, out)
			}
			if done {
				checkEvents(t, e.Done(out[:0]))
				return
			}
		}
	})
}

// checkEvents asserts that every data line of an encoded stream is JSON.
func checkEvents(t *testing.T, b []byte) {
	t.Helper()
	r := sse.NewDecoder(bytes.NewReader(b))
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("encoder output %q: %v", b, err)
		}
		if !json.Valid(ev.Data) {
			t.Fatalf("encoder wrote invalid JSON: %s", ev.Data)
		}
	}
}
