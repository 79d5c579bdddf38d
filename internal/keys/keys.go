// Package keys issues and checks virtual keys.
//
// A secret is "fk-" followed by 32 random bytes in base64url (43 chars). It
// is shown once, when created or rotated; the store keeps only its SHA-256
// (hex) and a short prefix for display. Authenticate serves the hot path
// from an in-memory cache: a known secret is re-read from the store at most
// every PositiveTTL (default 10s), an unknown one at most every NegativeTTL
// (2s). A revocation or rotation made through this Service takes effect at
// once here; other replicas learn of it through Options.Changed (with Redis,
// RedisBus: within milliseconds), else within PositiveTTL. Expiry is checked
// on every call.
package keys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// SecretPrefix starts every secret, so that scanners and humans can tell a
// Fulcrum key from a provider's.
const SecretPrefix = "fk-"

// prefixLen is how much of the secret listings show: "fk-" and 7 chars.
const prefixLen = 10

// Store is the part of store.Store keys need.
type Store interface {
	CreateKey(ctx context.Context, k *store.Key) error
	Key(ctx context.Context, id string) (*store.Key, error)
	KeyByHash(ctx context.Context, secretHash string) (*store.Key, error)
	Keys(ctx context.Context) ([]store.Key, error)
	RevokeKey(ctx context.Context, id string, at time.Time) error
	RotateKey(ctx context.Context, id, secretHash, prefix string) error
}

// Authentication failures; all are 401 for the client (see LLMError).
var (
	ErrUnknown = errors.New("keys: unknown key")
	ErrRevoked = errors.New("keys: key revoked")
	ErrExpired = errors.New("keys: key expired")
)

// ErrInvalid marks a bad Create request; its message names the field.
var ErrInvalid = errors.New("keys: invalid")

// Principal is an authenticated key. The cache shares it between requests:
// treat it as read-only.
type Principal struct {
	Key store.Key
	// Allowed is the set of models and routes the key may use; nil means
	// all.
	Allowed map[string]bool
}

func newPrincipal(k *store.Key) *Principal {
	p := &Principal{Key: *k}
	if len(k.Models) > 0 {
		p.Allowed = make(map[string]bool, len(k.Models))
		for _, m := range k.Models {
			p.Allowed[m] = true
		}
	}
	return p
}

// Options configures New. Zero fields take the defaults noted.
type Options struct {
	// PositiveTTL is how long a known key is served from the cache.
	// Default 10s; negative disables caching.
	PositiveTTL time.Duration
	// NegativeTTL is how long an unknown secret is remembered. Default 2s.
	NegativeTTL time.Duration
	// NegativeMax bounds the unknown secrets remembered. Default 4096.
	NegativeMax int
	Now         func() time.Time
	// Rand is the source of secrets and ids. Default crypto/rand.
	Rand io.Reader
	// Changed, when set, is told the id of every key this Service revokes
	// or rotates, after the store has it, so that other replicas can drop
	// it from their caches (RedisBus.Publish). An error is logged: the
	// change still reaches them within PositiveTTL.
	Changed func(ctx context.Context, id string) error
	Logger  *slog.Logger
}

// Service manages keys. It is safe for concurrent use.
type Service struct {
	st   Store
	o    Options
	mu   sync.RWMutex // guards the following fields
	hash map[[32]byte]entry
	byID map[string]entry
	negN int
	// gen counts invalidations: a store read that began before one is
	// not cached, since it may predate the change.
	gen uint64
}

type entry struct {
	p       *Principal // nil: unknown secret
	expires time.Time
}

// New returns a Service on st.
func New(st Store, o Options) *Service {
	if o.PositiveTTL == 0 {
		o.PositiveTTL = 10 * time.Second
	}
	if o.NegativeTTL == 0 {
		o.NegativeTTL = 2 * time.Second
	}
	if o.NegativeMax <= 0 {
		o.NegativeMax = 4096
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, o: o, hash: map[[32]byte]entry{}, byID: map[string]entry{}}
}

// HashSecret returns the lowercase hex SHA-256 the store keeps of secret.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func (s *Service) newSecret() (secret string, err error) {
	var b [32]byte
	if _, err := io.ReadFull(s.o.Rand, b[:]); err != nil {
		return "", fmt.Errorf("keys: random: %w", err)
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func (s *Service) newID() (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(s.o.Rand, b[:]); err != nil {
		return "", fmt.Errorf("keys: random: %w", err)
	}
	return "key_" + hex.EncodeToString(b[:]), nil
}

// CreateRequest describes a new key.
type CreateRequest struct {
	// Name is required and unique.
	Name string `json:"name"`
	Team string `json:"team,omitempty"`
	// Models are the models and routes the key may use; empty means all.
	Models []string `json:"models,omitempty"`
	// BudgetNanos is the spend limit per Period (USD × 1e9); 0 means none.
	BudgetNanos int64 `json:"budget_nanos,omitempty"`
	// Period defaults to monthly when there is a budget.
	Period store.Period `json:"period,omitempty"`
	RPM    int64        `json:"rpm,omitempty"`
	TPM    int64        `json:"tpm,omitempty"`
	// ExpiresIn, when positive, makes the key expire that long after now.
	ExpiresIn time.Duration `json:"-"`
	// UserBudgetNanos is what each distinct end user of the key may spend
	// per UserPeriod (USD × 1e9); 0 leaves the gateway's end_user_budget.
	UserBudgetNanos int64 `json:"user_budget_nanos,omitempty"`
	// UserPeriod is daily (the default with a user budget), weekly or
	// monthly: an end user's spend is re-read from raw usage rows.
	UserPeriod store.Period `json:"user_period,omitempty"`
}

func (r *CreateRequest) validate() error {
	r.Name = strings.TrimSpace(r.Name)
	r.Team = strings.TrimSpace(r.Team)
	switch {
	case r.Name == "":
		return fmt.Errorf("%w: name is required", ErrInvalid)
	case r.BudgetNanos < 0:
		return fmt.Errorf("%w: budget must not be negative", ErrInvalid)
	case r.RPM < 0 || r.TPM < 0:
		return fmt.Errorf("%w: rpm and tpm must not be negative", ErrInvalid)
	case r.ExpiresIn < 0:
		return fmt.Errorf("%w: expires must not be negative", ErrInvalid)
	case r.UserBudgetNanos < 0:
		return fmt.Errorf("%w: user budget must not be negative", ErrInvalid)
	}
	if r.UserPeriod == "" && r.UserBudgetNanos > 0 {
		r.UserPeriod = store.Daily
	}
	switch r.UserPeriod {
	case "", store.Daily, store.Weekly, store.Monthly:
	default:
		return fmt.Errorf("%w: user period %q is not daily, weekly or monthly", ErrInvalid, r.UserPeriod)
	}
	if r.Period == "" && r.BudgetNanos > 0 {
		r.Period = store.Monthly
	}
	if r.Period != "" && !store.ValidPeriod(r.Period) {
		return fmt.Errorf("%w: period %q is not daily, weekly, monthly or total", ErrInvalid, r.Period)
	}
	models := r.Models[:0:0]
	for _, m := range r.Models {
		if m = strings.TrimSpace(m); m != "" {
			models = append(models, m)
		}
	}
	r.Models = models
	return nil
}

// Create stores a new key and returns it with its secret, which is never
// shown again.
func (s *Service) Create(ctx context.Context, r CreateRequest) (*store.Key, string, error) {
	if err := r.validate(); err != nil {
		return nil, "", err
	}
	secret, err := s.newSecret()
	if err != nil {
		return nil, "", err
	}
	id, err := s.newID()
	if err != nil {
		return nil, "", err
	}
	now := s.o.Now().UTC()
	k := &store.Key{ID: id, Name: r.Name, Team: r.Team, SecretHash: HashSecret(secret), Prefix: secret[:prefixLen],
		Models: r.Models, BudgetNanos: r.BudgetNanos, Period: r.Period, RPM: r.RPM, TPM: r.TPM, Created: now,
		UserBudgetNanos: r.UserBudgetNanos, UserPeriod: r.UserPeriod}
	if r.ExpiresIn > 0 {
		exp := now.Add(r.ExpiresIn)
		k.ExpiresAt = &exp
	}
	if err := s.st.CreateKey(ctx, k); err != nil {
		return nil, "", fmt.Errorf("keys: create: %w", err)
	}
	s.o.Logger.Info("key created", "key", k.ID, "name", k.Name, "team", k.Team)
	return k, secret, nil
}

// List returns all keys, revoked ones included.
func (s *Service) List(ctx context.Context) ([]store.Key, error) {
	ks, err := s.st.Keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	return ks, nil
}

// Get returns a key by id from the store.
func (s *Service) Get(ctx context.Context, id string) (*store.Key, error) {
	k, err := s.st.Key(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("keys: get %q: %w", id, err)
	}
	return k, nil
}

// Revoke revokes a key now. Revoking a revoked key keeps the first time.
func (s *Service) Revoke(ctx context.Context, id string) (*store.Key, error) {
	k, err := s.st.Key(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("keys: revoke %q: %w", id, err)
	}
	if k.RevokedAt == nil {
		now := s.o.Now().UTC()
		if err := s.st.RevokeKey(ctx, id, now); err != nil {
			return nil, fmt.Errorf("keys: revoke %q: %w", id, err)
		}
		k.RevokedAt = &now
	}
	s.forget(k)
	s.changed(ctx, id)
	s.o.Logger.Info("key revoked", "key", id)
	return k, nil
}

// Rotate gives a key a new secret, returned once; the old one stops
// working (on other replicas once Options.Changed reaches them, else within
// PositiveTTL).
func (s *Service) Rotate(ctx context.Context, id string) (*store.Key, string, error) {
	k, err := s.st.Key(ctx, id)
	if err != nil {
		return nil, "", fmt.Errorf("keys: rotate %q: %w", id, err)
	}
	if !k.Active(s.o.Now()) {
		return nil, "", fmt.Errorf("%w: key %q is revoked or expired", ErrInvalid, id)
	}
	secret, err := s.newSecret()
	if err != nil {
		return nil, "", err
	}
	old := *k
	k.SecretHash, k.Prefix = HashSecret(secret), secret[:prefixLen]
	if err := s.st.RotateKey(ctx, id, k.SecretHash, k.Prefix); err != nil {
		return nil, "", fmt.Errorf("keys: rotate %q: %w", id, err)
	}
	s.forget(&old)
	s.changed(ctx, id)
	s.o.Logger.Info("key rotated", "key", id)
	return k, secret, nil
}

// changed tells Options.Changed that key id changed.
func (s *Service) changed(ctx context.Context, id string) {
	if s.o.Changed == nil {
		return
	}
	if err := s.o.Changed(context.WithoutCancel(ctx), id); err != nil {
		s.o.Logger.Warn("keys: other replicas not told of the change; they see it within key_cache_ttl", "key", id, "err", err)
	}
}

// forget drops k from the cache.
func (s *Service) forget(k *store.Key) {
	var h [32]byte
	if b, err := hex.DecodeString(k.SecretHash); err == nil && len(b) == 32 {
		copy(h[:], b)
	}
	s.mu.Lock()
	delete(s.hash, h)
	s.mu.Unlock()
	s.Invalidate(k.ID)
}

// Invalidate drops every cached entry of key id (each of its secrets, the
// old ones a rotation replaced included), so that the next request reads
// the key from the store: what another replica's change calls for.
func (s *Service) Invalidate(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	delete(s.byID, id)
	for h, e := range s.hash {
		if e.p != nil && e.p.Key.ID == id {
			delete(s.hash, h)
		}
	}
}

// InvalidateAll empties the cache: for when changes may have been missed
// (the channel that carries them was down).
func (s *Service) InvalidateAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	clear(s.hash)
	clear(s.byID)
	s.negN = 0
}

// Authenticate returns the key whose secret this is, or ErrUnknown,
// ErrRevoked or ErrExpired (each a 401 for the client, see LLMError), or a
// store error.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, SecretPrefix) {
		return nil, ErrUnknown
	}
	h := sha256.Sum256([]byte(secret))
	now := s.o.Now()
	s.mu.RLock()
	e, ok := s.hash[h]
	gen := s.gen
	s.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		k, err := s.st.KeyByHash(ctx, hex.EncodeToString(h[:]))
		switch {
		case errors.Is(err, store.ErrNotFound):
			e = entry{expires: now.Add(s.o.NegativeTTL)}
		case err != nil:
			return nil, fmt.Errorf("keys: authenticate: %w", err)
		default:
			e = entry{p: newPrincipal(k), expires: now.Add(s.o.PositiveTTL)}
		}
		s.remember(h, e, gen)
	}
	if e.p == nil {
		return nil, ErrUnknown
	}
	return e.p, check(&e.p.Key, now)
}

func check(k *store.Key, now time.Time) error {
	if k.RevokedAt != nil && !now.Before(*k.RevokedAt) {
		return ErrRevoked
	}
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return ErrExpired
	}
	return nil
}

// remember caches e unless the cache was invalidated since gen (the store
// read e comes from may predate the change).
func (s *Service) remember(h [32]byte, e entry, gen uint64) {
	if s.o.PositiveTTL < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return
	}
	if e.p == nil {
		if s.negN >= s.o.NegativeMax {
			// Too many unknown secrets (someone is guessing): forget them
			// all rather than grow.
			for k, v := range s.hash {
				if v.p == nil {
					delete(s.hash, k)
				}
			}
			s.negN = 0
		}
		if old, ok := s.hash[h]; !ok || old.p != nil {
			s.negN++
		}
	} else {
		s.byID[e.p.Key.ID] = e
	}
	s.hash[h] = e
}

// Lookup returns an active key by id through the cache, for code that
// holds a key id from an earlier Authenticate (e.g. the limiter).
func (s *Service) Lookup(ctx context.Context, id string) (*Principal, error) {
	now := s.o.Now()
	s.mu.RLock()
	e, ok := s.byID[id]
	gen := s.gen
	s.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		k, err := s.st.Key(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrUnknown
		}
		if err != nil {
			return nil, fmt.Errorf("keys: lookup: %w", err)
		}
		e = entry{p: newPrincipal(k), expires: now.Add(s.o.PositiveTTL)}
		if s.o.PositiveTTL >= 0 {
			s.mu.Lock()
			if s.gen == gen {
				s.byID[id] = e
			}
			s.mu.Unlock()
		}
	}
	return e.p, check(&e.p.Key, now)
}

// LLMError maps an Authenticate error to the client's error: 401
// invalid_api_key for a bad, revoked or expired key (the message says
// which, never echoing the secret), 503 when the store failed.
func LLMError(err error) *llm.Error {
	e := &llm.Error{Status: http.StatusUnauthorized, Type: llm.ErrAuthentication, Code: "invalid_api_key", Err: err}
	switch {
	case errors.Is(err, ErrRevoked):
		e.Message = "API key has been revoked"
	case errors.Is(err, ErrExpired):
		e.Message = "API key has expired"
	case errors.Is(err, ErrUnknown):
		e.Message = "invalid API key"
	default:
		e.Status, e.Type, e.Code, e.Message = http.StatusServiceUnavailable, llm.ErrOverloaded, "keys_unavailable", "key store unavailable"
	}
	return e
}
