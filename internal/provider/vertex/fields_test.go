package vertex

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/google/go-cmp/cmp"
)

// sentClaude returns the body of the last rawPredict call the fake saw.
func sentClaude(t *testing.T, f *fake.Vertex) map[string]json.RawMessage {
	t.Helper()
	reqs := f.Log.All()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// inference_geo is a data-residency restriction of Anthropic's own API;
// on Vertex the location decides where Claude runs. It was sent on as a
// field Vertex does not define. Now a location in the geography honours
// it (and the field is not sent), and any other location refuses it with
// a 400 before anything is sent; "global" restricts nothing.
func TestInferenceGeo(t *testing.T) {
	for _, tc := range []struct {
		location, geo string
		ok            bool
	}{
		{"us-east5", `"us"`, true},
		{"us", `"us"`, true},
		{"europe-west4", `"global"`, true},
		{"europe-west4", `"us"`, false},
		{"global", `"us"`, false},
		{"us-east5", `"eu"`, false},
	} {
		t.Run(tc.location+" "+tc.geo, func(t *testing.T) {
			f := fake.NewVertex("fake-project", tc.location)
			t.Cleanup(f.Close)
			c, _ := newClient(t, f, func(p *config.Provider) { p.Vertex.Location = tc.location })
			req := userReq("Bonjour")
			req.Extra = map[string]json.RawMessage{"inference_geo": json.RawMessage(tc.geo)}
			if tc.geo != `"global"` {
				req.Unsupported = []string{"inference_geo"} // as the Anthropic decoder lists it
			}
			_, err := c.Chat(t.Context(), permit(c), req)
			if !tc.ok {
				if e := llm.AsError(err); e.Status != http.StatusBadRequest || e.Param != "inference_geo" || e.Provider != "vertex-eu" {
					t.Fatalf("err = %v, want a 400 naming inference_geo", err)
				}
				if n := len(f.Log.All()); n != 0 {
					t.Errorf("%d requests sent", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, has := sentClaude(t, f)["inference_geo"]; has {
				t.Errorf("inference_geo sent to Vertex")
			}
		})
	}
}

// Automatic caching (a top-level cache_control) is Anthropic's shorthand
// for a marker on the last cacheable block; Vertex gets the block-level
// marker it documents. service_tier (only ever "standard_only" here) is
// not sent: Vertex has no priority tier.
func TestAutomaticCachingAndServiceTier(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, nil)
	req := userReq("Bonjour")
	req.Extra = map[string]json.RawMessage{"cache_control": json.RawMessage(`{"type":"ephemeral"}`), "service_tier": json.RawMessage(`"standard_only"`)}
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatal(err)
	}
	body := sentClaude(t, f)
	for _, k := range []string{"cache_control", "service_tier"} {
		if v, has := body[k]; has {
			t.Errorf("%s sent: %s", k, v)
		}
	}
	var msgs []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(body["messages"], &msgs); err != nil {
		t.Fatal(err)
	}
	want := `[{"cache_control":{"type":"ephemeral"},"text":"Bonjour","type":"text"}]`
	if got := string(msgs[len(msgs)-1].Content); got != want {
		t.Errorf("last message content = %s, want %s", got, want)
	}
}

func TestMarkLastBlock(t *testing.T) {
	cc := json.RawMessage(`{"type":"ephemeral"}`)
	for _, tc := range []struct{ name, in, want string }{
		{"string", `[{"role":"user","content":"hi"}]`, `[{"content":[{"cache_control":{"type":"ephemeral"},"text":"hi","type":"text"}],"role":"user"}]`},
		{"last block", `[{"role":"user","content":[{"type":"text","text":"a"},{"type":"tool_result","tool_use_id":"t","content":"r"}]}]`,
			`[{"content":[{"text":"a","type":"text"},{"cache_control":{"type":"ephemeral"},"content":"r","tool_use_id":"t","type":"tool_result"}],"role":"user"}]`},
		{"skips thinking", `[{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"thinking","thinking":"x","signature":"s"}]}]`,
			`[{"content":[{"cache_control":{"type":"ephemeral"},"text":"a","type":"text"},{"signature":"s","thinking":"x","type":"thinking"}],"role":"assistant"}]`},
		{"keeps a marker", `[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral","ttl":"1h"}}]}]`,
			`[{"content":[{"cache_control":{"type":"ephemeral","ttl":"1h"},"text":"a","type":"text"}],"role":"user"}]`},
		{"nothing cacheable", `[{"role":"user","content":""}]`, `[{"role":"user","content":""}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := markLastBlock(json.RawMessage(tc.in), cc)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			_ = json.Unmarshal(got, &g)
			_ = json.Unmarshal([]byte(tc.want), &w)
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// The Gemini half honours and refuses inference_geo as the Claude half
// does (the Gemini translation alone refuses it everywhere).
func TestInferenceGeoGemini(t *testing.T) {
	for _, tc := range []struct {
		location string
		ok       bool
	}{{"us-central1", true}, {"europe-west4", false}} {
		f := fake.NewVertex("fake-project", tc.location)
		t.Cleanup(f.Close)
		c, g := newClient(t, f, func(p *config.Provider) { p.Vertex.Location = tc.location })
		g.Provider = &recordingGemini{}
		req := userReq("Bonjour")
		req.Model = "gemini-2.5-flash"
		req.Extra = map[string]json.RawMessage{"inference_geo": json.RawMessage(`"us"`)}
		req.Unsupported = []string{"inference_geo", "logprobs"}
		_, err := c.Chat(t.Context(), permit(c), req)
		got := g.Provider.(*recordingGemini).got
		switch {
		case tc.ok && (err != nil || got == nil || !cmp.Equal(got.Unsupported, []string{"logprobs"})):
			t.Errorf("%s: err %v, the Gemini half got %+v", tc.location, err, got)
		case !tc.ok && (llm.AsError(err).Param != "inference_geo" || got != nil):
			t.Errorf("%s: err %v, want a 400 naming inference_geo before the Gemini half", tc.location, err)
		}
		if len(req.Unsupported) != 2 {
			t.Errorf("the client's request was changed: %v", req.Unsupported)
		}
	}
}

// recordingGemini stands for the Gemini half and keeps the request.
type recordingGemini struct {
	provider.Provider
	got *llm.ChatRequest
}

func (g *recordingGemini) Chat(_ context.Context, _ policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	g.got = req
	return &llm.ChatResponse{Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "ok")}}}, nil
}

// The client's anthropic-beta values reach Claude on Vertex as the same
// header Anthropic's API reads, streaming or not: the fields they unlock
// (context_management here) are re-encoded into the body, and were sent
// without the header that makes them valid. No betas, no header.
func TestBetas(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, nil)
	req := userReq("Bonjour")
	req.Betas = []string{"context-management-2025-06-27", "interleaved-thinking-2025-05-14"}
	req.Extra = map[string]json.RawMessage{"context_management": json.RawMessage(`{"edits":[{"type":"clear_thinking_20251015"}]}`)}
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatal(err)
	}
	s, err := c.ChatStream(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := s.Recv(); err != nil {
			break
		}
	}
	s.Close()
	if _, err := c.Chat(t.Context(), permit(c), userReq("Bonjour")); err != nil {
		t.Fatal(err)
	}
	var reqs []fake.Request
	for _, r := range f.Log.All() {
		if strings.Contains(r.Path, "RawPredict") || strings.Contains(r.Path, "rawPredict") {
			reqs = append(reqs, r)
		}
	}
	if len(reqs) != 3 {
		t.Fatalf("%d model requests, want 3", len(reqs))
	}
	for i, r := range reqs[:2] {
		if diff := cmp.Diff(req.Betas, r.Header.Values("Anthropic-Beta")); diff != "" {
			t.Errorf("request %d (%s) anthropic-beta (-want +got):\n%s", i, r.Path, diff)
		}
	}
	if v := reqs[2].Header.Values("Anthropic-Beta"); v != nil {
		t.Errorf("a request without betas sent anthropic-beta %q", v)
	}
	if _, has := sentClaude(t, f)["context_management"]; has {
		t.Errorf("the last request had no context_management, yet sent one")
	}
}
