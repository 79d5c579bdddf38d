package ollama

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func seqIDs() ids {
	n := 0
	return ids{next: func() string { n++; return fmt.Sprintf("%04d", n) }}
}

var testNow = time.Unix(1700000000, 0)

// TestRequestGolden translates canonical requests
// (testdata/req_*.in.json) into /api/chat bodies (req_*.want.json).
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

// TestResponseGolden translates /api/chat answers (resp_*.in.json).
func TestResponseGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/resp_*.in.json")
	if len(files) == 0 {
		t.Fatal("no response cases")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".in.json")
		t.Run(name, func(t *testing.T) {
			var r chatResponse
			readJSON(t, f, &r)
			golden(t, name, fromResponse(&r, testNow, seqIDs()))
		})
	}
}

// TestStreamGolden feeds NDJSON lines (stream_*.in.json, an array) through
// the converter.
func TestStreamGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/stream_*.in.json")
	if len(files) == 0 {
		t.Fatal("no stream cases")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".in.json")
		t.Run(name, func(t *testing.T) {
			var lines []chatResponse
			readJSON(t, f, &lines)
			conv := converter{id: seqIDs(), now: testNow}
			var out []llm.Chunk
			done := false
			for i := range lines {
				out, done = conv.process(&lines[i], out)
			}
			golden(t, name, map[string]any{"chunks": out, "done": done})
		})
	}
}

func TestToRequestErrors(t *testing.T) {
	hi := []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}
	tools := []llm.Tool{{Name: "f"}}
	yes := true
	tests := []struct {
		name      string
		req       llm.ChatRequest
		wantParam string
		wantCode  string
	}{
		{"unsupported", llm.ChatRequest{Messages: hi, Unsupported: []string{"logprobs"}}, "logprobs", "unsupported_parameter"},
		{"n", llm.ChatRequest{Messages: hi, N: 2}, "n", "unsupported_parameter"},
		{"required", llm.ChatRequest{Messages: hi, Tools: tools, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceRequired}}, "tool_choice", "unsupported_parameter"},
		{"strict tool", llm.ChatRequest{Messages: hi, Tools: []llm.Tool{{Name: "f"}, {Name: "g", Strict: &yes}}}, "tools[1].strict", "unsupported_parameter"},
		{"named tool", llm.ChatRequest{Messages: hi, Tools: tools, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "f"}}, "tool_choice", "unsupported_parameter"},
		{"image url", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartImage, Image: &llm.Image{URL: "https://x/y.png"}}}}}}, "messages[0].content", ""},
		{"bad arguments", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "a", Name: "f", Arguments: "nope"}}}}}, "messages[0].tool_calls[0].function.arguments", ""},
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
