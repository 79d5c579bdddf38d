package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestSetModel: one rewrite for every wire format (it used to be two, with
// different rules: OpenAI's refused a non-string model, Anthropic's
// rewrote whatever value was there).
func TestSetModel(t *testing.T) {
	tests := []struct {
		name, in, model, want string
		wantErr               bool
	}{
		{"simple", `{"model":"alias","max_tokens":5}`, "claude-sonnet-4-5", `{"model":"claude-sonnet-4-5","max_tokens":5}`, false},
		{"spaces kept", "{ \"max_tokens\" : 5 ,\n \"model\" :  \"a\" , \"x\":[1,{\"model\":\"inner\"}]}", "b",
			"{ \"max_tokens\" : 5 ,\n \"model\" :  \"b\" , \"x\":[1,{\"model\":\"inner\"}]}", false},
		{"nested not touched", `{"metadata":{"model":"x"},"model":"a"}`, "b", `{"metadata":{"model":"x"},"model":"b"}`, false},
		{"nested non-string not refused", `{"metadata":{"model":7},"model":"a"}`, "b", `{"metadata":{"model":7},"model":"b"}`, false},
		{"escaped key", `{"mod\u0065l":"a"}`, "b", `{"mod\u0065l":"b"}`, false},
		{"duplicates all rewritten", `{"model":"a","model":"evil"}`, "b", `{"model":"b","model":"b"}`, false},
		{"string with braces", `{"system":"}{\"model\":","model":"a"}`, "b", `{"system":"}{\"model\":","model":"b"}`, false},
		{"missing added", `{"max_tokens":5}`, "b", `{"model":"b","max_tokens":5}`, false},
		{"empty object", ` {} `, "b", ` {"model":"b"} `, false},
		{"quote in model", `{"model":"a"}`, `x"y`, `{"model":"x\"y"}`, false},
		{"unchanged", `{"model":"b"}`, "b", `{"model":"b"}`, false},
		{"keeps formatting", "{\n  \"messages\": [{\"role\":\"user\",\"content\":\"say \\\"model\\\": x\"}],\n  \"model\" : \"a\"\n}", "b",
			"{\n  \"messages\": [{\"role\":\"user\",\"content\":\"say \\\"model\\\": x\"}],\n  \"model\" : \"b\"\n}", false},
		{"null refused", `{"model":null}`, "b", "", true},
		{"number refused", `{"model":1}`, "b", "", true},
		{"object refused", `{"model":{"name":"a"}}`, "b", "", true},
		{"not an object", `[1]`, "b", "", true},
		{"truncated", `{"model":"a",`, "b", "", true},
		{"bad value", `{"model":}`, "b", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SetModel([]byte(tt.in), tt.model)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("SetModel = %s, want error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("SetModel = %s, want %s", got, tt.want)
			}
			again, err := SetModel(got, tt.model)
			if err != nil || string(again) != string(got) {
				t.Errorf("not idempotent: %s -> %s (%v)", got, again, err)
			}
		})
	}
}

// FuzzSetModel: the byte-level rewrite must leave valid JSON valid, set
// the model encoding/json sees, and be idempotent.
func FuzzSetModel(f *testing.F) {
	f.Add([]byte(`{"model":"a","max_tokens":1}`), "claude")
	f.Add([]byte(`{"x":[{"model":1}],"model":"a","model":"b"}`), "m\"q")
	f.Add([]byte(`{}`), "")
	f.Fuzz(func(t *testing.T, body []byte, model string) {
		out, err := SetModel(body, model)
		if err != nil || !json.Valid(body) {
			return
		}
		// A map, not a struct: encoding/json matches struct fields
		// case-insensitively, JSON keys are case-sensitive.
		var v map[string]json.RawMessage
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("SetModel(%s) = %s: %v", body, out, err)
		}
		var got, want string
		if err := json.Unmarshal(v["model"], &got); err != nil {
			t.Fatalf("model in %s: %v", out, err)
		}
		wb, _ := json.Marshal(model)
		_ = json.Unmarshal(wb, &want)
		if got != want {
			t.Fatalf("model = %q, want %q in %s", got, want, out)
		}
		again, err := SetModel(out, model)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %s -> %s", out, again)
		}
	})
}

func TestSetModelUnchangedIsSameSlice(t *testing.T) {
	in := []byte(`{"model":"m","stream":true}`)
	out, err := SetModel(in, "m")
	if err != nil || &out[0] != &in[0] {
		t.Errorf("want the input slice back when nothing changes")
	}
}

func BenchmarkSetModel(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SetModel(chatBody, "gpt-4o-2024-08-06"); err != nil {
			b.Fatal(err)
		}
	}
}
