package gemini

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/google/go-cmp/cmp"
)

// golden compares got (marshalled as indented JSON) with
// testdata/<name>.want.json, rewriting it under -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name+".want.json")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func seqIDs() func() string {
	n := 0
	return func() string {
		n++
		return "call_" + strings.Repeat("0", 3) + string(rune('0'+n))
	}
}

// TestRequestGolden translates canonical requests
// (testdata/req_*.in.json) into Gemini bodies (req_*.want.json).
func TestRequestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/req_*.in.json")
	if len(files) == 0 {
		t.Fatal("no request cases")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".in.json")
		t.Run(name, func(t *testing.T) {
			var req llm.ChatRequest
			readJSON(t, f, &req)
			got, err := toRequest(&req)
			if err != nil {
				golden(t, name, map[string]any{"error": llm.AsError(err)})
				return
			}
			golden(t, name, got)
		})
	}
}

// TestResponseGolden translates Gemini answers (testdata/resp_*.in.json)
// into canonical responses (resp_*.want.json).
func TestResponseGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/resp_*.in.json")
	if len(files) == 0 {
		t.Fatal("no response cases")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".in.json")
		t.Run(name, func(t *testing.T) {
			var gr generateResponse
			readJSON(t, f, &gr)
			golden(t, name, map[string]any{"response": fromResponse(&gr, "gemini-2.5-flash", 1700000000, seqIDs())})
		})
	}
}

// TestStreamGolden feeds Gemini stream chunks (testdata/stream_*.in.json,
// an array of chunks) through the converter and checks the canonical
// chunks (stream_*.want.json).
func TestStreamGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/stream_*.in.json")
	if len(files) == 0 {
		t.Fatal("no stream cases")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".in.json")
		t.Run(name, func(t *testing.T) {
			var evs []generateResponse
			readJSON(t, f, &evs)
			conv := converter{model: "gemini-2.5-flash", newID: seqIDs()}
			var out []llm.Chunk
			for i := range evs {
				out = conv.process(&evs[i], out)
			}
			last, ok := conv.end()
			golden(t, name, map[string]any{"chunks": out, "final": last, "complete": ok})
		})
	}
}

func TestToRequestErrors(t *testing.T) {
	img := func(im *llm.Image) llm.Message {
		return llm.Message{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartImage, Image: im}}}
	}
	tests := []struct {
		name      string
		req       llm.ChatRequest
		wantParam string
		wantCode  string
	}{
		{"unsupported", llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}, Unsupported: []string{"logprobs"}}, "logprobs", "unsupported_parameter"},
		{"n in stream", llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}, N: 2, Stream: true}, "n", "unsupported_parameter"},
		{"http image", llm.ChatRequest{Messages: []llm.Message{img(&llm.Image{URL: "https://example.com/cat.png"})}}, "messages[0].content", ""},
		{"inline image without type", llm.ChatRequest{Messages: []llm.Message{img(&llm.Image{Data: "AAAA"})}}, "messages[0].content", ""},
		{"unknown tool call", llm.ChatRequest{Messages: []llm.Message{
			llm.TextMessage(llm.RoleUser, "hi"),
			{Role: llm.RoleTool, ToolCallID: "call_x", Content: []llm.Part{{Type: llm.PartText, Text: "r"}}},
		}}, "messages[1].tool_call_id", ""},
		{"bad arguments", llm.ChatRequest{Messages: []llm.Message{
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "a", Name: "f", Arguments: "{not json"}}},
		}}, "messages[0].tool_calls[0].function.arguments", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := toRequest(&tt.req)
			le := llm.AsError(err)
			if err == nil || le.Status != 400 || le.Param != tt.wantParam || le.Code != tt.wantCode {
				t.Fatalf("err = %v (param %q code %q), want 400 param %q code %q", err, le.Param, le.Code, tt.wantParam, tt.wantCode)
			}
		})
	}
}

func TestFinishReason(t *testing.T) {
	for in, want := range map[string]string{
		"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
		"BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
		"OTHER": "stop", "": "",
	} {
		if got := finishReason(in); got != want {
			t.Errorf("finishReason(%q) = %q, want %q", in, got, want)
		}
	}
}
