// Package open picks a store implementation from a URL and migrates it.
//
// It is apart from package store because the implementations import store
// for its types; store cannot import them back.
package open

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/postgres"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

// Store opens sqlite://PATH or postgres://... and applies pending migrations.
func Store(ctx context.Context, url string, logger *slog.Logger) (store.Store, error) {
	s, err := NoMigrate(ctx, url, logger)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// NoMigrate opens the store without migrating, for `fulcrum migrate` and
// for operators who apply migrations by hand.
func NoMigrate(ctx context.Context, url string, logger *slog.Logger) (store.Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		p, err := sqlite.PathFromURL(url)
		if err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, p, logger)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url, logger)
	}
	return nil, fmt.Errorf("store: unsupported URL %q (want sqlite:// or postgres://)", redact(url))
}

// redact drops a password from a URL before it reaches an error message.
func redact(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if user, _, ok := strings.Cut(rest[:at], ":"); ok {
			return scheme + "://" + user + ":***" + rest[at:]
		}
	}
	return u
}
