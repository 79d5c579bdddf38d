package app

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisThoughts is the gateway's ThoughtStore on the replicas' Redis:
// the thinking kept for Chat Completions clients, sealed by the gateway
// (gateway/thoughts_shared.go), under <redis_prefix>thought:<hash>.
type redisThoughts struct {
	rdb    *redis.Client
	prefix string
}

func (s redisThoughts) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.rdb.Set(ctx, s.prefix+key, value, ttl).Err()
}

func (s redisThoughts) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := s.rdb.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	return b, err == nil, err
}
