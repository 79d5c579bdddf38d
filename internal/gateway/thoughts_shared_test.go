package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/router"
)

// memThoughts is a ThoughtStore in memory, as Redis would be for the
// replicas: it keeps what it is given, with its expiry.
type memThoughts struct {
	mu   sync.Mutex
	m    map[string][]byte
	ttl  map[string]time.Duration
	fail error
	gets int // reads asked for
}

func (s *memThoughts) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.m[key] = bytes.Clone(value)
	s.ttl[key] = ttl
	return nil
}

func (s *memThoughts) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.fail != nil {
		return nil, false, s.fail
	}
	v, ok := s.m[key]
	return bytes.Clone(v), ok, nil
}

// TestThinkingSharedBetweenReplicas: behind a load balancer, a Chat
// Completions client's tool-result turn lands on another replica than the
// one that answered with thinking and tool calls. Before, that replica
// did not hold the thinking and Claude's refusal reached the client (400
// thinking_not_restorable); with a shared store the thinking is found
// there. What the store holds is sealed: no thinking text or signature in
// it, and an entry moved to another key's place, or read by a gateway
// with another master key, does not open.
func TestThinkingSharedBetweenReplicas(t *testing.T) {
	an := fake.NewAnthropic()
	t.Cleanup(an.Close)
	pa, err := anthropic.New(config.Provider{Name: "p-anthropic", Type: "anthropic", BaseURL: an.URL, APIKey: fake.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Providers: []config.Provider{{Name: "p-anthropic", Type: "anthropic"}},
		Models: []config.Model{{Name: "m-anthropic", Provider: "p-anthropic", Upstream: "claude-sonnet-4-5", Type: "chat"}}}
	r, err := router.New(cfg, map[string]provider.Provider{"p-anthropic": pa}, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	shared := &memThoughts{m: map[string][]byte{}, ttl: map[string]time.Duration{}}
	eng, err := policy.New(config.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	guard := &recordingGuard{e: eng}
	replica := func(masterKey string, store gateway.ThoughtStore) string {
		srv := httptest.NewServer(gateway.New(gateway.Options{Router: r, Auth: keyAuth{}, MasterKey: masterKey, Thoughts: store, Guard: guard}))
		t.Cleanup(srv.Close)
		return srv.URL + "/v1/chat/completions"
	}
	a, b := replica("mk-fleet", shared), replica("mk-fleet", shared)

	const tools = `"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a place","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]`
	user := `{"role":"user","content":"weather in Paris? [[redacted]]"}`
	first := func(stream bool) (id, second string) {
		t.Helper()
		body := `{"model":"m-anthropic","reasoning_effort":"low","stream":` + map[bool]string{false: "false", true: "true"}[stream] +
			`,"messages":[` + user + `],` + tools + `}`
		status, out := postKey(t, a, "sk-a", body)
		if status != 200 {
			t.Fatalf("first turn on replica a: %d %s", status, out)
		}
		id, call := firstToolCall(t, out, stream)
		return id, `{"model":"m-anthropic","reasoning_effort":"low","messages":[` + user +
			`,{"role":"assistant","content":null,"tool_calls":[{"id":` + quoteJSON(id) + `,"type":"function","function":` + call + `}]}` +
			`,{"role":"tool","tool_call_id":` + quoteJSON(id) + `,"content":"sunny, 21C"}],` + tools + `}`
	}
	refused := func(what, url, key, body, id string) {
		t.Helper()
		status, out := postKey(t, url, key, body)
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(out, &e)
		if status != 400 || e.Error.Code != "thinking_not_restorable" || !strings.Contains(e.Error.Message, id) {
			t.Errorf("%s: %d %s, want 400 thinking_not_restorable naming %s", what, status, out, id)
		}
	}

	for _, stream := range []bool{false, true} {
		id, second := first(stream)
		status, out := postKey(t, b, "sk-a", second)
		log := an.Log.All()
		sent := log[len(log)-1].Body
		if status != 200 || !bytes.Contains(out, []byte("Tool said: sunny, 21C")) {
			t.Fatalf("stream %v: tool-result turn on replica b: %d %s; Anthropic got %s", stream, status, out, sent)
		}
		if !bytes.Contains(sent, []byte(`"signature":"`+fake.AnthropicSignature+`"`)) || !bytes.Contains(sent, []byte(fake.AnthropicRedacted)) {
			t.Errorf("stream %v: replica b sent no restored thinking: %s", stream, sent)
		}
		// What replica b restored from the store was scanned with the
		// request, as the policy scans what leaves beside the body.
		guard.mu.Lock()
		fwd := guard.forwarded[len(guard.forwarded)-1]
		guard.mu.Unlock()
		if !slices.Contains(fwd, fake.AnthropicSignature) || !slices.Contains(fwd, fake.AnthropicRedacted) {
			t.Errorf("stream %v: policy scanned %q beside the body on replica b, want the restored thinking", stream, fwd)
		}
		// Another key on replica b gets none of it.
		refused("another key on replica b", b, "sk-b", second, id)
	}

	shared.mu.Lock()
	for k, v := range shared.m {
		for _, secret := range []string{fake.Thought("weather in Paris? [[redacted]]"), fake.AnthropicSignature, fake.AnthropicRedacted, "key-a"} {
			if bytes.Contains(v, []byte(secret)) {
				t.Errorf("the shared store holds %q in the clear", secret)
			}
		}
		if shared.ttl[k] != time.Hour {
			t.Errorf("shared entry kept for %v, want 1h", shared.ttl[k])
		}
	}
	shared.mu.Unlock()

	// An entry copied to another key's place does not open for that key.
	id, second := first(false)
	place := func(keyID string) string {
		sum := sha256.Sum256([]byte(keyID + "\x00" + id))
		return hex.EncodeToString(sum[:])
	}
	shared.mu.Lock()
	v, ok := shared.m[place("key-a")]
	shared.m[place("key-b")] = v
	shared.mu.Unlock()
	if !ok {
		t.Fatalf("no shared entry for key a's tool call %s", id)
	}
	refused("key a's entry moved to key b's place", replica("mk-fleet", shared), "sk-b", second, id)

	// A gateway sealing with another master key cannot open the entries.
	other := replica("mk-other", shared)
	refused("a gateway with another master key", other, "sk-a", second, id)

	// The store failing is a miss, said as one, not a 5xx.
	id, second = first(false)
	shared.mu.Lock()
	shared.fail = errors.New("connection refused")
	shared.mu.Unlock()
	c := replica("mk-fleet", shared)
	refused("the shared store failing", c, "sk-a", second, id)
}
