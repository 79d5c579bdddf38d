package keys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("FULCRUM_TEST_REDIS_URL")
	if url == "" {
		t.Skip("FULCRUM_TEST_REDIS_URL not set; run with FULCRUM_TEST_REDIS_URL=redis://127.0.0.1:6379/0 (as .ci/run does)")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return rdb
}

// Two replicas on one store and one Redis: a key revoked (or rotated) on
// one is refused by the other as soon as the change crosses Redis, though
// the other cached it for an hour; without the bus it was served until
// its cache entry expired (key_cache_ttl).
func TestRedisBusRevokesOnOtherReplica(t *testing.T) {
	st := openStore(t)
	prefix := fmt.Sprintf("{keys-test-%d-%d}:", os.Getpid(), time.Now().UnixNano())
	busA := NewRedisBus(testRedis(t), prefix, nil)
	busB := NewRedisBus(testRedis(t), prefix, nil)
	a := New(st, Options{PositiveTTL: time.Hour, Changed: busA.Publish})
	b := New(st, Options{PositiveTTL: time.Hour, Changed: busB.Publish})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		busB.Run(ctx, b, func() { ready <- struct{}{} })
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("bus not subscribed")
	}

	// wait polls b until check passes; it reports how long that took.
	wait := func(what string, check func() error) {
		t.Helper()
		start := time.Now()
		for {
			err := check()
			if err == nil {
				t.Logf("%s: seen by the other replica after %v", what, time.Since(start))
				return
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s: other replica still: %v", what, err)
			}
			time.Sleep(time.Millisecond)
		}
	}

	k, secret, err := a.Create(ctx, CreateRequest{Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	k2, secret2, err := a.Create(ctx, CreateRequest{Name: "r2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{secret, secret2} {
		if _, err := b.Authenticate(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Lookup(ctx, k.ID); err != nil {
		t.Fatal(err)
	}

	if _, err := a.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	wait("revoke", func() error {
		if _, err := b.Authenticate(ctx, secret); !errors.Is(err, ErrRevoked) {
			return fmt.Errorf("authenticate: %v", err)
		}
		return nil
	})
	if _, err := b.Lookup(ctx, k.ID); !errors.Is(err, ErrRevoked) {
		t.Errorf("Lookup after revoke: %v", err)
	}
	// Another key's entry stays cached: the bus drops only the key named.
	if _, err := b.Authenticate(ctx, secret2); err != nil {
		t.Errorf("other key: %v", err)
	}

	if _, _, err := a.Rotate(ctx, k2.ID); err != nil {
		t.Fatal(err)
	}
	wait("rotate", func() error {
		if _, err := b.Authenticate(ctx, secret2); !errors.Is(err, ErrUnknown) {
			return fmt.Errorf("old secret: %v", err)
		}
		return nil
	})
}

// A change published while a replica was not subscribed is never served
// from its cache: each subscription (the first, and every one after a
// lost connection) starts by emptying the cache.
func TestRedisBusSubscribeEmptiesCache(t *testing.T) {
	st := openStore(t)
	prefix := fmt.Sprintf("{keys-test-%d-%d}:", os.Getpid(), time.Now().UnixNano())
	a := New(st, Options{PositiveTTL: time.Hour})
	b := New(st, Options{PositiveTTL: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	k, secret, err := a.Create(ctx, CreateRequest{Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Revoke(ctx, k.ID); err != nil { // nobody listening
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, secret); err != nil {
		t.Fatalf("cached entry expected before the bus runs: %v", err)
	}
	ready := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		NewRedisBus(testRedis(t), prefix, nil).Run(ctx, b, func() { ready <- struct{}{} })
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("bus not subscribed")
	}
	if _, err := b.Authenticate(ctx, secret); !errors.Is(err, ErrRevoked) {
		t.Errorf("after subscribing: %v, want revoked", err)
	}
}
