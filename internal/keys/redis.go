package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisBus carries key changes between replicas over a Redis pub/sub
// channel: Publish announces a key id that changed (Options.Changed), Run
// drops the announced keys from a Service's cache. A revoked or rotated
// key is then refused on every replica within a Redis round trip instead
// of key_cache_ttl.
//
// Pub/sub delivers to the subscribers connected at that moment only. Run
// empties the cache whenever its subscription starts or starts again after
// a lost connection, so a change published while a replica was not
// listening is never served from that replica's cache; while the
// subscription is down, the cache's TTL bounds how stale a key can be.
type RedisBus struct {
	rdb     *redis.Client
	channel string
	log     *slog.Logger
}

// NewRedisBus returns a bus on rdb's channel prefix+"keys".
func NewRedisBus(rdb *redis.Client, prefix string, log *slog.Logger) *RedisBus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisBus{rdb: rdb, channel: prefix + "keys", log: log}
}

// Publish announces that key id changed.
func (b *RedisBus) Publish(ctx context.Context, id string) error {
	if err := b.rdb.Publish(ctx, b.channel, id).Err(); err != nil {
		return fmt.Errorf("keys: publish change: %w", err)
	}
	return nil
}

// Run applies the announced changes to s until ctx ends. ready, when not
// nil, is called each time the subscription is (re)established.
func (b *RedisBus) Run(ctx context.Context, s *Service, ready func()) {
	ps := b.rdb.Subscribe(ctx, b.channel)
	// Receive blocks on the connection whatever ctx says: closing the
	// subscription is what ends it.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	defer ps.Close()
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// The connection is gone; the next Receive reconnects and
			// subscribes again. Back off a little so a Redis that is down
			// is not dialled in a tight loop.
			if !errors.Is(err, redis.ErrClosed) {
				b.log.Warn("keys: change channel", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				// Changes published while not subscribed were missed.
				s.InvalidateAll()
				if ready != nil {
					ready()
				}
			}
		case *redis.Message:
			s.Invalidate(m.Payload)
		}
	}
}
