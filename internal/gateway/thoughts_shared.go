package gateway

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Thinking kept for every replica.
//
// The thought cache (thoughts.go) is per process: a tool-result turn that
// the load balancer sends to another replica than the one that answered
// would miss the thinking, and Claude would refuse it. With a
// ThoughtStore (Redis, storage.redis) every kept entry is also written
// there, before the answer is sent (so the client's next turn finds it
// wherever it lands), and a replica that does not hold the thinking of a
// request's final tool-use turn looks there.
//
// What the store holds is sealed: AES-256-GCM under a key derived from
// the master key (HKDF-SHA256), with the caller's key and the tool call
// id as additional data and, as the store's key, a SHA-256 of the two.
// The store's operator reads neither the thinking (nor the call signatures) nor whose it is, and a
// value moved to another key's entry, or changed, does not open: it is a
// miss. Without a master key nothing is shared (there is no secret to
// seal with): the gateway logs so at start.

// ThoughtStore is a key-value store with expiry shared by the replicas.
type ThoughtStore interface {
	// Put stores value under key for ttl.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns the value under key, or ok false when there is none.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
}

// sharedThoughtTimeout bounds one call to the ThoughtStore: a slow store
// delays an answer with tool calls, or a miss, by at most this.
const sharedThoughtTimeout = 500 * time.Millisecond

// sharedThoughts seals entries for a ThoughtStore.
type sharedThoughts struct {
	store ThoughtStore
	aead  cipher.AEAD
	log   *slog.Logger
}

// newSharedThoughts returns nil when there is no store or no secret.
func newSharedThoughts(store ThoughtStore, secret string, log *slog.Logger) *sharedThoughts {
	if store == nil {
		return nil
	}
	if secret == "" {
		log.Warn("thinking kept for Chat Completions clients stays per replica: sharing it needs server.master_key to seal it with")
		return nil
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "fulcrum thoughts v1", 32)
	if err != nil {
		panic(err) // only for a key length out of range
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &sharedThoughts{store: store, aead: aead, log: log}
}

// sealedThought is an entry as sealed.
type sealedThought struct {
	Provider string        `json:"p"`
	IDs      []string      `json:"i"`
	Sigs     []string      `json:"s,omitempty"`
	Thoughts []llm.Thought `json:"t"`
}

func sharedThoughtKey(owner, id string) (storeKey string, ad []byte) {
	ad = []byte(owner + "\x00" + id)
	sum := sha256.Sum256(ad)
	return hex.EncodeToString(sum[:]), ad
}

// put writes an entry; a failure is logged (the local cache still has it).
func (s *sharedThoughts) put(owner, provider string, ids, sigs []string, thoughts []llm.Thought) {
	plain, err := json.Marshal(sealedThought{Provider: provider, IDs: ids, Sigs: sigs, Thoughts: thoughts})
	if err != nil {
		s.log.Warn("sharing kept thinking", "err", err)
		return
	}
	key, ad := sharedThoughtKey(owner, ids[0])
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	value := s.aead.Seal(nonce, nonce, plain, ad)
	ctx, cancel := context.WithTimeout(context.Background(), sharedThoughtTimeout)
	defer cancel()
	if err := s.store.Put(ctx, key, value, thoughtTTL); err != nil {
		s.log.Warn("sharing kept thinking", "err", err)
	}
}

// get reads the entry of owner's tool calls ids (all of them, in order),
// or nil: absent, unreadable (changed, or another key's) or the store
// failing (logged).
func (s *sharedThoughts) get(ctx context.Context, owner string, ids []string) *thoughtEntry {
	key, ad := sharedThoughtKey(owner, ids[0])
	ctx, cancel := context.WithTimeout(ctx, sharedThoughtTimeout)
	defer cancel()
	value, ok, err := s.store.Get(ctx, key)
	if err != nil {
		s.log.Warn("reading shared kept thinking", "err", err)
		return nil
	}
	n := s.aead.NonceSize()
	if !ok || len(value) < n {
		return nil
	}
	plain, err := s.aead.Open(nil, value[:n], value[n:], ad)
	if err != nil {
		s.log.Warn("shared kept thinking does not open: changed, or not this key's", "err", err)
		return nil
	}
	var e sealedThought
	if err := json.Unmarshal(plain, &e); err != nil || !slices.Equal(e.IDs, ids) {
		return nil
	}
	return &thoughtEntry{provider: e.Provider, ids: e.IDs, sigs: e.Sigs, thoughts: e.Thoughts}
}
