package openai

import (
	"encoding/json"
	"strings"
	"testing"
)

var validSeeds = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `-0.5e+10`, `1E5`, `01`, `1.`, `.5`, `-`, `1e`, `+1`,
	`true`, `false`, `null`, `nul`, `tru`, `nulll`, ` {"a" : [1, 2, {"b": null}] } `,
	`{"a":1,}`, `[1,]`, `{"a"}`, `{"a":}`, `{1:2}`, `["\u00e9\ud800"]`, `["\u00g0"]`, `["\x"]`,
	"[\"a\tb\"]", "[\"\xff\xfe\"]", `["\"\\\/\b\f\n\r\t"]`, `{"a":1}{}`, `[1] x`, ``, ` `,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	string(typicalRequest),
}

// FuzzValidJSON: validJSON agrees with json.Valid on every input.
func FuzzValidJSON(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("%q: validJSON %v, json.Valid %v", b, got, want)
		}
	})
}

// BenchmarkValidJSON: the typical request checked by validJSON and by
// json.Valid.
func BenchmarkValidJSON(b *testing.B) {
	b.Run("validJSON", func(b *testing.B) {
		b.SetBytes(int64(len(typicalRequest)))
		for b.Loop() {
			validJSON(typicalRequest)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(typicalRequest)))
		for b.Loop() {
			json.Valid(typicalRequest)
		}
	})
}
