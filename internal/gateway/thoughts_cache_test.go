package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// TestThoughtCacheBounds: an entry is found by its key's owner and the
// answer's tool call ids (all of them), expires after thoughtTTL, and the
// oldest entries go when the cache holds more than thoughtMaxBytes.
func TestThoughtCacheBounds(t *testing.T) {
	now := time.Unix(1e9, 0)
	c := newThoughtCache(func() time.Time { return now }, nil)
	th := []llm.Thought{{Text: "think", Signature: "sig"}}
	c.put("key-a", "p", []string{"call_1", "call_2"}, nil, th)
	for _, tc := range []struct {
		owner string
		ids   []string
		found bool
	}{
		{"key-a", []string{"call_1", "call_2"}, true},
		{"key-b", []string{"call_1", "call_2"}, false},
		{"key-a", []string{"call_1"}, false},
		{"key-a", []string{"call_2", "call_1"}, false},
	} {
		if got := c.get(tc.owner, tc.ids) != nil; got != tc.found {
			t.Errorf("get(%s, %v) found %v, want %v", tc.owner, tc.ids, got, tc.found)
		}
	}
	now = now.Add(thoughtTTL + time.Second)
	if c.get("key-a", []string{"call_1", "call_2"}) != nil {
		t.Error("an expired entry was found")
	}
	if c.bytes != 0 || len(c.m) != 0 {
		t.Errorf("after expiry: %d bytes, %d entries", c.bytes, len(c.m))
	}

	big := []llm.Thought{{Text: strings.Repeat("x", thoughtMaxEntryBytes/2), Signature: "sig"}}
	n := thoughtMaxBytes/(thoughtMaxEntryBytes/2) + 8
	for i := range n {
		c.put("key-a", "p", []string{"call_" + string(rune('A'+i%26)) + strings.Repeat("z", i/26)}, nil, big)
	}
	if c.bytes > thoughtMaxBytes {
		t.Errorf("cache holds %d bytes, over %d", c.bytes, thoughtMaxBytes)
	}
	if c.get("key-a", []string{"call_A"}) != nil {
		t.Error("the oldest entry survived past the byte bound")
	}
	if c.get("key-a", []string{"call_" + string(rune('A'+(n-1)%26)) + strings.Repeat("z", (n-1)/26)}) == nil {
		t.Error("the newest entry was evicted")
	}
	// A re-put of an expired key is not evicted by its older slot.
	c2 := newThoughtCache(func() time.Time { return now }, nil)
	c2.put("k", "p", []string{"x"}, nil, th)
	c2.put("k", "p", []string{"x"}, nil, th)
	if c2.bytes != len("x")+len("think")+len("sig") {
		t.Errorf("re-put counts %d bytes", c2.bytes)
	}
	if l := len(c2.order); l != 2 {
		t.Fatalf("order %d", l)
	}
	c2.dropOldestLocked()
	if c2.get("k", []string{"x"}) == nil {
		t.Error("the stale slot of a replaced entry dropped it")
	}
}
