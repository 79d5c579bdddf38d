// Package golden runs golden-file tests for the wire-format packages:
// testdata/<kind>_<case>.in.<ext> goes through the function registered for
// <kind>, and the output is compared with <kind>_<case>.want.<ext> (written
// instead when the test runs with -update). It is imported by tests only.
package golden

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Kind is the function under test for one file-name prefix.
type Kind struct {
	WantExt string
	Run     func(t *testing.T, in []byte) []byte
}

// Run runs every testdata/*.in.* file through its kind and compares, or
// with update rewrites, the .want file.
func Run(t *testing.T, kinds map[string]Kind, update bool) {
	t.Helper()
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
		k, ok := kinds[kind]
		if !ok {
			t.Errorf("%s: unknown golden kind %q", in, kind)
			continue
		}
		t.Run(name, func(t *testing.T) {
			input, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := k.Run(t, input)
			wantFile := filepath.Join("testdata", name+".want."+k.WantExt)
			if update {
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

// MustUnmarshal decodes a test input or fails the test.
func MustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("bad test input: %v", err)
	}
}

// ErrJSON is how golden files show an error: what a client would see.
type ErrJSON struct {
	Status  int
	Type    string
	Code    string `json:",omitempty"`
	Param   string `json:",omitempty"`
	Message string
}

// AsErrJSON requires err to be an *llm.Error and returns its visible part.
func AsErrJSON(t *testing.T, err error) ErrJSON {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, want *llm.Error: %v", err, err)
	}
	return ErrJSON{Status: e.Status, Type: e.Type, Code: e.Code, Param: e.Param, Message: e.Message}
}

// ResultJSON renders v, or the error, as indented JSON.
func ResultJSON(t *testing.T, v any, err error) []byte {
	t.Helper()
	if err != nil {
		v = map[string]ErrJSON{"error": AsErrJSON(t, err)}
	}
	b, merr := json.MarshalIndent(v, "", "  ")
	if merr != nil {
		t.Fatal(merr)
	}
	return append(b, '\n')
}

// RawResultJSON indents a JSON body (which must be valid), or renders the error.
func RawResultJSON(t *testing.T, body []byte, err error) []byte {
	t.Helper()
	if err != nil {
		return ResultJSON(t, nil, err)
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
