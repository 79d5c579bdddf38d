package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

// chatBody is a typical chat request: a system prompt, a few turns, a
// tool definition, ~4 KB.
var chatBody = func() []byte {
	long := strings.Repeat("The export job fails every night since version 2.4.1; please check the worker logs and summarise. ", 30)
	return []byte(`{"model":"gpt-4o","temperature":0.2,"stream":false,"user":"u-123","metadata":{"team":"support"},` +
		`"messages":[{"role":"system","content":"You are a helpful assistant.\nAnswer briefly."},` +
		`{"role":"user","content":"` + long + `"},{"role":"assistant","content":"Sure \u2014 which job?"},` +
		`{"role":"user","content":[{"type":"text","text":"the nightly export"}]}],` +
		`"tools":[{"type":"function","function":{"name":"get_logs","description":"Fetch worker logs","parameters":{"type":"object","properties":{"pod":{"type":"string"},"since":{"type":"string","format":"date-time"}},"required":["pod"]}}}]}`)
}()

func BenchmarkWalk(b *testing.B) {
	b.SetBytes(int64(len(chatBody)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := Walk(chatBody, func(s *String) { n += len(s.Text) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalAny is what decoding the same body with encoding/json
// into a generic value costs, for comparison.
func BenchmarkUnmarshalAny(b *testing.B) {
	b.SetBytes(int64(len(chatBody)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := json.Unmarshal(chatBody, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidStdlib(b *testing.B) {
	b.SetBytes(int64(len(chatBody)))
	b.ReportAllocs()
	for b.Loop() {
		if !json.Valid(chatBody) {
			b.Fatal("invalid")
		}
	}
}

// TestWalkAllocations: walking a chat request allocates nothing: not a
// growing list of keys, and (pooled) not the walker or the decode buffer
// of its escaped strings; the policy stage walks every request.
func TestWalkAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	n := testing.AllocsPerRun(50, func() {
		if err := Walk(chatBody, func(*String) {}); err != nil {
			t.Fatal(err)
		}
	})
	if n > 0 {
		t.Errorf("Walk allocates %.0f times, want none", n)
	}
}
