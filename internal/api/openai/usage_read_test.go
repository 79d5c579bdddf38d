package openai

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var usageSeeds = []string{
	`{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`,
	`{"prompt_tokens":5,"completion_tokens":null}`,
	`{"prompt_tokens":5,"prompt_tokens":7}`,
	`{"Prompt_Tokens":5}`,
	`{"prompt_tokenſ":5}`,
	`{"prompt_\u0074okens":5}`,
	`{"prompt_tokens":1e3}`,
	`{"prompt_tokens":1.0}`,
	`{"prompt_tokens":-3}`,
	`{"prompt_tokens":99999999999999999999}`,
	`{"prompt_tokens":"5"}`,
	`{"prompt_tokens_details":{"cached_tokens":4},"prompt_tokens_details":{}}`,
	`{"prompt_tokens_details":{"cached_tokens":4},"prompt_tokens_details":null}`,
	`{"prompt_tokens_details":[],"completion_tokens":2}`,
	`{"completion_tokens_details":{"reasoning_tokens":true}}`,
	`{"prompt_tokens":5,}`,
	`{"prompt_tokens":tru}`,
	` { "prompt_tokens" : 5 , "x" : [ {"prompt_tokens": 9} ] } `,
	`null`,
	`{}`,
}

// FuzzReadUsage: readUsage agrees with json.Unmarshal into usage on every
// input, success and values.
func FuzzReadUsage(f *testing.F) {
	for _, s := range usageSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want usage
		wantOK := json.Unmarshal(b, &want) == nil
		got, ok := readUsage(b)
		if ok != wantOK {
			t.Fatalf("%s: ok %v, json.Unmarshal's %v", b, ok, wantOK)
		}
		if ok {
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("%s: (-json.Unmarshal +readUsage)\n%s", b, d)
			}
		}
	})
}

// TestReadUsageTakesCommonShapesItself: the shapes upstreams send are
// read without encoding/json's reflection (no allocation but the result's
// details).
func TestReadUsageTakesCommonShapesItself(t *testing.T) {
	b := []byte(usageSeeds[0])
	if _, ok := readUsageFast(b); !ok {
		t.Fatal("OpenAI's own usage object fell back to encoding/json")
	}
	if n := testing.AllocsPerRun(100, func() { readUsage(b) }); n > 2 {
		t.Errorf("readUsage allocates %.0f times, want at most 2 (the two details structs)", n)
	}
}

// BenchmarkReadUsage: OpenAI's usage object read by readUsage and by
// json.Unmarshal, as ResponseUsage and ChunkUsage did before.
func BenchmarkReadUsage(b *testing.B) {
	u := []byte(usageSeeds[0])
	b.Run("readUsage", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			readUsage(u)
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var w usage
			_ = json.Unmarshal(u, &w)
		}
	})
}
