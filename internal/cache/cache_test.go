package cache

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

func req(text string) *llm.ChatRequest {
	return &llm.ChatRequest{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, text)}}
}

func answer(text string) *Entry {
	return &Entry{
		Response: &llm.ChatResponse{ID: "r", Model: "up", Choices: []llm.Choice{{
			Message: llm.TextMessage(llm.RoleAssistant, text), FinishReason: llm.FinishStop}}},
		Provider: "gpu", Hosting: provider.SelfHosted, CostNanos: 1500,
	}
}

var gpu = &provider.Info{Name: "gpu", Hosting: provider.SelfHosted, Region: "eu"}
var api = &provider.Info{Name: "api", Hosting: provider.Proprietary, Region: "us"}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestHitMissTTL(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := New(Options{Now: clk.now})
	s := &Scope{Policy: "default", Action: "allow", Targets: []*provider.Info{gpu, api}}
	k := NewKey(req("hello"), s)
	if _, ok := c.Get(k); ok {
		t.Fatal("hit on an empty cache")
	}
	if !c.Put(k, answer("hi there"), time.Minute) {
		t.Fatal("Put refused a small entry")
	}
	e, ok := c.Get(k)
	if !ok || e.Response.Choices[0].Message.Text() != "hi there" {
		t.Fatalf("Get = %v, %v; want the stored answer", e, ok)
	}
	if _, ok := c.Get(NewKey(req("hello!"), s)); ok {
		t.Fatal("a different prompt hit")
	}
	clk.t = clk.t.Add(59 * time.Second)
	if _, ok := c.Get(k); !ok {
		t.Fatal("entry gone before its TTL")
	}
	clk.t = clk.t.Add(time.Second)
	if _, ok := c.Get(k); ok {
		t.Fatal("entry served at its TTL")
	}
	st := c.Stats()
	if st.Hits != 2 || st.Misses != 3 || st.Expired != 1 || st.Entries != 0 || st.Bytes != 0 || st.SavedNanos != 3000 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestEvictionLRU(t *testing.T) {
	one := entrySize(answer(strings.Repeat("x", 1000)))
	c := New(Options{MaxBytes: 3 * one})
	s := &Scope{}
	keys := make([]Key, 4)
	for i := range keys {
		keys[i] = NewKey(req(string(rune('a'+i))), s)
	}
	for _, k := range keys[:3] {
		c.Put(k, answer(strings.Repeat("x", 1000)), time.Hour)
	}
	c.Get(keys[0]) // keys[1] is now least recently used
	c.Put(keys[3], answer(strings.Repeat("x", 1000)), time.Hour)
	if _, ok := c.Get(keys[1]); ok {
		t.Fatal("least recently used entry not evicted")
	}
	for _, k := range []Key{keys[0], keys[2], keys[3]} {
		if _, ok := c.Get(k); !ok {
			t.Fatal("a recently used entry was evicted")
		}
	}
	if st := c.Stats(); st.Evictions != 1 || st.Bytes != 3*one || st.Entries != 3 {
		t.Fatalf("stats = %+v", st)
	}
	small := New(Options{MaxEntryBytes: entrySize(answer(strings.Repeat("y", 200))) - 1})
	if small.Put(keys[0], answer(strings.Repeat("y", 200)), time.Hour) {
		t.Fatal("entry over max_entry_bytes kept")
	}
}

// TestPolicyPartitioning: the same request under a different policy, verdict,
// permitted targets or tenant is another key.
func TestPolicyPartitioning(t *testing.T) {
	base := Scope{Policy: "default", Classes: "email", Action: "redact", Targets: []*provider.Info{gpu, api}}
	k := NewKey(req("mail bob@example.com"), &base)
	variants := map[string]Scope{
		"policy":  {Policy: "strict", Classes: "email", Action: "redact", Targets: base.Targets},
		"action":  {Policy: "default", Classes: "email", Action: "self_hosted_only", Targets: base.Targets},
		"classes": {Policy: "default", Classes: "email,phone", Action: "redact", Targets: base.Targets},
		"targets": {Policy: "default", Classes: "email", Action: "redact", Targets: []*provider.Info{gpu}},
		"region":  {Policy: "default", Classes: "email", Action: "redact", Targets: []*provider.Info{gpu, {Name: "api", Hosting: provider.Proprietary, Region: "eu"}}},
		"tenant":  {Policy: "default", Classes: "email", Action: "redact", Targets: base.Targets, Tenant: "team-a"},
	}
	for name, s := range variants {
		if NewKey(req("mail bob@example.com"), &s) == k {
			t.Errorf("%s: same key as the base scope", name)
		}
	}
	same := base
	if NewKey(req("mail bob@example.com"), &same) != k {
		t.Error("identical scope and request gave another key")
	}
	streamed := req("mail bob@example.com")
	streamed.Stream, streamed.IncludeUsage = true, true
	if NewKey(streamed, &base) != k {
		t.Error("the stream flag changed the key; a hit should replay either way")
	}
	temp := 0.5
	r2 := req("mail bob@example.com")
	r2.Temperature = &temp
	if NewKey(r2, &base) == k {
		t.Error("temperature is not in the key")
	}
	// Field boundaries are unambiguous.
	a := &llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "ab"), llm.TextMessage(llm.RoleUser, "c")}}
	b := &llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "a"), llm.TextMessage(llm.RoleUser, "bc")}}
	if NewKey(a, &base) == NewKey(b, &base) {
		t.Error("messages split differently hash the same")
	}
}

func TestBuilderAndClone(t *testing.T) {
	b := NewBuilder(1 << 20)
	for _, ch := range []llm.Chunk{
		{ID: "c1", Model: "up", Role: llm.RoleAssistant},
		{Text: "Hel"}, {Text: "lo, "}, {Text: "wörld"},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_1", Name: "f", Arguments: `{"a":`}}},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `1}`}}},
		{FinishReason: llm.FinishToolCalls, Usage: &llm.Usage{InputTokens: 3, OutputTokens: 4}},
	} {
		b.Add(&ch)
	}
	r := b.Response()
	if r == nil {
		t.Fatal("no response from a finished stream")
	}
	m := r.Choices[0].Message
	if m.Text() != "Hello, wörld" || len(m.ToolCalls) != 1 || m.ToolCalls[0].Arguments != `{"a":1}` || m.ToolCalls[0].Name != "f" ||
		r.Choices[0].FinishReason != llm.FinishToolCalls || r.Usage.OutputTokens != 4 || r.ID != "c1" {
		t.Fatalf("response = %+v", r)
	}
	cl := Clone(r)
	cl.Choices[0].Message.Content[0].Text = "changed"
	cl.Usage.OutputTokens = 99
	if r.Choices[0].Message.Text() != "Hello, wörld" || r.Usage.OutputTokens != 4 {
		t.Fatal("Clone shares memory with the original")
	}

	// Reasoning streamed as deltas becomes thoughts, each closed by its
	// signature or by what follows it, in order.
	th := NewBuilder(1 << 20)
	for _, ch := range []llm.Chunk{
		{Reasoning: "Let me "}, {Reasoning: "check."}, {Signature: "sig1"},
		{Reasoning: "Unsigned."}, {Text: "Calling."},
		{Reasoning: "Again."}, {ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_1", Name: "f", Arguments: `{}`}}},
		{FinishReason: llm.FinishToolCalls},
	} {
		th.Add(&ch)
	}
	want := []llm.Thought{{Text: "Let me check.", Signature: "sig1"}, {Text: "Unsigned."}, {Text: "Again."}}
	if got := th.Response().Choices[0].Message.Thoughts; !slices.Equal(got, want) {
		t.Fatalf("thoughts = %+v, want %+v", got, want)
	}

	cut := NewBuilder(1 << 20)
	cut.Add(&llm.Chunk{Text: "partial"})
	if cut.Response() != nil {
		t.Fatal("an unfinished stream was turned into a cacheable answer")
	}
	big := NewBuilder(4)
	big.Add(&llm.Chunk{Text: "too long"})
	big.Add(&llm.Chunk{FinishReason: "stop"})
	if big.Response() != nil {
		t.Fatal("an answer over the size bound was kept")
	}
}

func BenchmarkKey(b *testing.B) {
	r := req(strings.Repeat("How many apples are left if I eat three? ", 20))
	s := &Scope{Policy: "default", Action: "allow", Targets: []*provider.Info{gpu, api}}
	b.ReportAllocs()
	for b.Loop() {
		NewKey(r, s)
	}
}

// TestRawEntry: an entry kept as raw bytes comes back field for field, and a hit in another format decodes it once
// per entry (the decoded answer is kept for later hits, and dropped with
// the entry).
func TestRawEntry(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 123)}
	c := New(Options{Now: clk.now})
	k := NewKey(req("hello"), &Scope{Policy: "default"})
	raw := []byte(`{"id":"r","choices":[]}`)
	in := Entry{
		Usage:     llm.Usage{InputTokens: 12, OutputTokens: 300, CacheReadTokens: 4, CacheWriteTokens: 5, ReasoningTokens: 200, Estimated: true},
		CostNanos: 1_234_567, Provider: "gpu-eu", Hosting: provider.SelfHosted, Region: "eu-west",
		Model: "m", Upstream: "llama-3", Raw: raw, RawFormat: "openai",
	}
	if !c.Put(k, &in, time.Minute) {
		t.Fatal("Put refused a raw entry")
	}
	e, ok := c.Get(k)
	if !ok {
		t.Fatal("miss after Put")
	}
	want := in
	want.Raw, want.Stored = []byte(`{"id":"r","choices":[]}`), clk.t
	if string(e.Raw) != string(want.Raw) || e.Usage != want.Usage || e.CostNanos != want.CostNanos || e.Provider != want.Provider ||
		e.Hosting != want.Hosting || e.Region != want.Region || e.Model != want.Model || e.Upstream != want.Upstream ||
		e.RawFormat != want.RawFormat || !e.Stored.Equal(want.Stored) || e.Response != nil {
		t.Fatalf("Get = %+v\nwant %+v", e, want)
	}
	decodes := 0
	decode := func(b []byte) (*llm.ChatResponse, error) {
		decodes++
		return &llm.ChatResponse{ID: string(b[7:8])}, nil
	}
	for range 3 {
		e, _ := c.Get(k)
		r, err := c.Answer(k, e, decode)
		if err != nil || r == nil || r.ID != "r" {
			t.Fatalf("Answer = %v, %v", r, err)
		}
	}
	if decodes != 1 {
		t.Fatalf("decoded %d times, want once per entry", decodes)
	}
	// A new entry under the same key is decoded afresh; an answer decoded
	// from the old entry is not attached to it.
	old, _ := c.Get(k)
	old.Response = nil
	c.Put(k, &in, time.Minute)
	c.Answer(k, old, decode)
	e, _ = c.Get(k)
	if e.Response != nil {
		t.Fatal("an answer decoded from a replaced entry was attached to the new one")
	}
	if st := c.Stats(); st.Entries != 1 || st.Bytes != entrySize(&in) {
		t.Fatalf("stats = %+v", st)
	}
}
