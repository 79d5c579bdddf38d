// Package store is Fulcrum's durable storage: usage records, the audit log,
// virtual keys and the running spend totals budgets are checked against.
//
// One interface, two implementations: store/sqlite (the embedded default, pure
// Go, WAL mode) and store/postgres (for many replicas). store/open picks one
// from a URL. Both pass the same suite, store/storetest.
//
// Times are stored in UTC with microsecond precision. Money is integer
// nanodollars (USD × 1e9), never floating point.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Store is the storage interface. Implementations are safe for concurrent use.
type Store interface {
	// Migrate applies the embedded migrations not yet applied. It is
	// idempotent and safe to run from several processes at once.
	Migrate(ctx context.Context) error
	// SchemaVersion returns the highest applied migration version.
	SchemaVersion(ctx context.Context) (int, error)

	// InsertUsage stores records in one transaction and, in the same
	// transaction, adds each newly stored record to the running totals of its
	// key and team. A record whose (Time, RequestID, Attempt) is already
	// stored is skipped and not counted again, so replaying a journal (which
	// holds identical records) is harmless. The gateway records each attempt
	// once, with one time.
	// It returns how many records were new.
	InsertUsage(ctx context.Context, recs []UsageRecord) (int, error)
	// Commit stores a batch of usage records and audit rows in one
	// transaction: the usage records as InsertUsage would, the audit rows
	// as AppendAuditBatch would. With b.Replay, records and rows already
	// stored (a journal replayed after a crash, a batch retried after its
	// commit's reply was lost) are skipped; without it a usage record
	// already stored makes Commit retry the batch that way by itself. An
	// audit row is the same row when its request id, time and chosen
	// provider are. It returns how many usage records were new.
	Commit(ctx context.Context, b Batch) (int, error)
	// Usage lists records matching f, oldest first.
	Usage(ctx context.Context, f UsageFilter) ([]UsageRecord, error)
	// UsageSummary aggregates records matching f by the given dimensions.
	UsageSummary(ctx context.Context, f UsageFilter, by []GroupBy) ([]UsageGroup, error)
	// Totals returns the running totals of a scope (ScopeKey, ScopeTeam) for
	// the period containing at, one row per hosting kind that has any.
	Totals(ctx context.Context, scope string, p Period, at time.Time) ([]Total, error)

	// AppendAudit assigns row.Seq and row.PrevHash atomically (no two
	// writers, even in other processes, get the same seq), sets row.Hash to
	// hash(prevHash, row) and stores the row. prevHash is "" for the first.
	AppendAudit(ctx context.Context, row *AuditRow, hash func(prevHash string, row *AuditRow) string) error
	// AppendAuditBatch appends rows in order in one transaction, as
	// AppendAudit would one by one, and fills in their Seq, PrevHash and
	// Hash. Either all rows are stored or none.
	AppendAuditBatch(ctx context.Context, rows []AuditRow, hash func(prevHash string, row *AuditRow) string) error
	// Audit lists audit rows matching f in seq order.
	Audit(ctx context.Context, f AuditFilter) ([]AuditRow, error)

	// CreateKey stores a new virtual key. ErrConflict when the id or name exists.
	CreateKey(ctx context.Context, k *Key) error
	// Key returns a key by id, ErrNotFound when there is none.
	Key(ctx context.Context, id string) (*Key, error)
	// KeyByHash returns a key by the SHA-256 hex of its secret.
	KeyByHash(ctx context.Context, secretHash string) (*Key, error)
	// Keys lists all keys, revoked ones included, by creation time.
	Keys(ctx context.Context) ([]Key, error)
	// RevokeKey marks a key revoked at the given time.
	RevokeKey(ctx context.Context, id string, at time.Time) error
	// RotateKey replaces a key's secret hash and display prefix.
	RotateKey(ctx context.Context, id, secretHash, prefix string) error

	// Close releases the database.
	Close() error
}

// Errors.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: already exists")
)

// Batch is what one Commit stores.
type Batch struct {
	Usage []UsageRecord
	// Audit rows are appended in order; Commit fills in their Seq,
	// PrevHash and Hash with Hash (required when there are rows).
	Audit []AuditRow
	Hash  func(prevHash string, row *AuditRow) string
	// Replay says records may already be stored.
	Replay bool
}

// UsageRecord is one upstream attempt: the append-only unit of metering.
// (meter.Record is this type.)
type UsageRecord struct {
	Time time.Time `json:"time"`
	// RequestID is Fulcrum's id for the client request; with Attempt it is
	// unique, so a record stored twice is stored once.
	RequestID string `json:"request_id"`
	// Attempt numbers the upstream attempts of one request from 1.
	Attempt int    `json:"attempt"`
	KeyID   string `json:"key_id,omitempty"`
	Team    string `json:"team,omitempty"`
	// Model is what the client asked for: a model or route name.
	Model         string `json:"model"`
	Provider      string `json:"provider"`
	UpstreamModel string `json:"upstream_model"`
	// Hosting is "self_hosted" or "proprietary".
	Hosting string `json:"hosting"`
	// Status is the HTTP status of the attempt (499 for a client that went away).
	Status    int   `json:"status"`
	LatencyMS int64 `json:"latency_ms"`
	// TTFTMS is the time to the first streamed token; 0 when not streamed.
	TTFTMS int64 `json:"ttft_ms,omitempty"`
	// Token counts follow llm.Usage: InputTokens includes the cached ones,
	// OutputTokens includes the reasoning ones.
	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	CachedTokens     int64 `json:"cached_tokens,omitempty"`
	CacheWriteTokens int64 `json:"cache_write_tokens,omitempty"`
	ReasoningTokens  int64 `json:"reasoning_tokens,omitempty"`
	// CostNanos is the cost in USD × 1e9.
	CostNanos int64 `json:"cost_nanos"`
	// ReferenceCostNanos is, for self-hosted records, what the same tokens
	// would have cost on the configured reference model.
	ReferenceCostNanos int64 `json:"reference_cost_nanos,omitempty"`
	// Estimated is true when Fulcrum counted the tokens itself.
	Estimated    bool     `json:"estimated,omitempty"`
	DataClasses  []string `json:"data_classes,omitempty"`
	PolicyAction string   `json:"policy_action,omitempty"`
	// ErrorCode is the llm.Error type or code of a failed attempt.
	ErrorCode string `json:"error_code,omitempty"`
	// Tags are the request's cost-attribution tags (x-fulcrum-tags and
	// OpenAI metadata, bounded and validated by the gateway).
	Tags map[string]string `json:"tags,omitempty"`
	// EndUser is the end user the client named (OpenAI user, Anthropic
	// metadata.user_id); "" when none.
	EndUser string `json:"end_user,omitempty"`
}

// UsageFilter selects usage records. Zero fields do not filter.
type UsageFilter struct {
	// From is inclusive, To exclusive.
	From, To time.Time
	KeyID    string
	Team     string
	Model    string
	Provider string
	Hosting  string
	// RequestID selects the attempts of one request.
	RequestID string
	// Tags selects records whose tag NAME has the value VALUE, for every
	// NAME: VALUE given (AND); a value "" selects records without the tag,
	// as a summary by tag:NAME groups them under "". Names must be
	// ValidTagKey. A summary filtered by tags equals the matching group of
	// the same summary grouped by those tags, and is read the same way
	// (attribution rollups for whole hours, the main rollups' seconds and
	// minutes at the edges, raw rows for partial seconds).
	Tags map[string]string
	// EndUser selects one end user's records ("": no filter). In
	// UsageSummary it selects the group a summary by ByUser would give
	// that name, read the same way: from raw rows only when the
	// attribution rollups name no end user (the default; rows pruned are
	// then missing, as they are from a summary by user), else from the
	// rollups for whole hours, where a day's end users beyond its cap are
	// summed under OtherUser (and EndUser OtherUser selects them). In
	// Usage it matches the record's own end user.
	EndUser string
	// Limit caps the rows returned by Usage; 0 means 1000.
	Limit int
	// Newest makes Usage return the newest rows first (a sample of the
	// latest attempts), not the oldest.
	Newest bool
	// Raw makes UsageSummary read raw rows only, not the rollups (for
	// checks and comparisons; rows pruned are then missing).
	Raw bool
}

// GroupBy is a dimension of a usage summary.
type GroupBy string

// Group-by dimensions.
const (
	ByKey      GroupBy = "key"
	ByTeam     GroupBy = "team"
	ByModel    GroupBy = "model"
	ByProvider GroupBy = "provider"
	ByHosting  GroupBy = "hosting"
	// ByDay groups by UTC date, "2006-01-02".
	ByDay GroupBy = "day"
	// ByUser groups by end user (UsageRecord.EndUser). Like tag groups,
	// it is read from the attribution rollups (AttrKey) for whole hours,
	// and a day's end users beyond its cap are summed under OtherUser.
	ByUser GroupBy = "user"
	// ByAction groups by the policy action (UsageRecord.PolicyAction:
	// allow, redact, self_hosted_only; "" where no policy decided).
	ByAction GroupBy = "action"
	// ByClasses groups by the set of data classes found in the request,
	// as recorded ("email,iban"; "" for none): a record counts once,
	// under its whole set. Neither can be combined with a tag or the end
	// user (the attribution rollups do not keep them).
	ByClasses GroupBy = "classes"
)

// ByTag groups by the value of one request tag ("tag:team"; "" for
// records without it).
func ByTag(key string) GroupBy { return GroupBy("tag:" + key) }

// Tag returns the tag key of a tag dimension.
func (g GroupBy) Tag() (string, bool) {
	k, ok := strings.CutPrefix(string(g), "tag:")
	return k, ok && ValidTagKey(k)
}

// Attribution reports whether g is a tag or the end user, which the main
// rollups' hourly and daily rows do not keep: summaries grouped by one
// read the attribution rollups (hours and days only) for whole hours, and
// for the partial hours the main rollups' seconds and minutes (a tag) or
// raw rows (the end user).
func (g GroupBy) Attribution() bool {
	_, tag := g.Tag()
	return tag || g == ByUser
}

// GroupByNames lists the dimensions ValidGroupBy accepts, for error
// messages (the CLI's --group-by and GET /admin/usage's group_by).
const GroupByNames = "key, team, model, provider, hosting, day, action, classes, user or tag:NAME"

// ValidGroupBy reports whether g is a known dimension.
func ValidGroupBy(g GroupBy) bool {
	switch g {
	case ByKey, ByTeam, ByModel, ByProvider, ByHosting, ByDay, ByUser, ByAction, ByClasses:
		return true
	}
	_, ok := g.Tag()
	return ok
}

// ParseTagFilter parses items of the form NAME=VALUE (a tag filter, as
// `fulcrum usage --tag` and GET /admin/usage?tag= take it) into a
// UsageFilter's Tags. VALUE may be empty (records without the tag) and
// may hold '='; a NAME given twice with different values is an error (no
// record could match both).
func ParseTagFilter(items []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(items))
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok {
			return nil, fmt.Errorf("tag filter %q: want NAME=VALUE", it)
		}
		if !ValidTagKey(k) {
			return nil, fmt.Errorf("tag filter %q: invalid tag name %q (1 to %d ASCII letters, digits, '_', '-', '.')", it, k, MaxTagKey)
		}
		if old, dup := m[k]; dup && old != v {
			return nil, fmt.Errorf("tag filter: tag %q given twice (%q and %q); no record has both", k, old, v)
		}
		m[k] = v
	}
	return m, nil
}

// MaxTagKey bounds a tag key's length.
const MaxTagKey = 64

// ValidTagKey reports whether k may name a tag: 1 to 64 ASCII letters,
// digits, '_', '-' and '.' (it is used in SQL JSON paths, so never a
// quote).
func ValidTagKey(k string) bool {
	if k == "" || len(k) > MaxTagKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// UsageGroup is one row of a summary. Keys holds the group's value for each
// requested dimension, in order.
type UsageGroup struct {
	Keys               []string `json:"keys"`
	Requests           int64    `json:"requests"`
	InputTokens        int64    `json:"input_tokens"`
	OutputTokens       int64    `json:"output_tokens"`
	CachedTokens       int64    `json:"cached_tokens"`
	ReasoningTokens    int64    `json:"reasoning_tokens"`
	CostNanos          int64    `json:"cost_nanos"`
	ReferenceCostNanos int64    `json:"reference_cost_nanos"`
	Estimated          int64    `json:"estimated"`
	Errors             int64    `json:"errors"`
	// LatencyMSSum sums the attempts' latencies; Latency counts them by
	// bucket (LatencyBoundsMS), from which the percentiles are read: each
	// is the upper bound of its bucket (-1: above the last bound).
	LatencyMSSum int64                 `json:"latency_ms_sum"`
	Latency      [LatencyBuckets]int64 `json:"-"`
	P50MS        int64                 `json:"latency_p50_ms"`
	P95MS        int64                 `json:"latency_p95_ms"`
	P99MS        int64                 `json:"latency_p99_ms"`
}

// Add adds o's sums to g (its keys are g's).
func (g *UsageGroup) Add(o *UsageGroup) {
	g.Requests += o.Requests
	g.InputTokens += o.InputTokens
	g.OutputTokens += o.OutputTokens
	g.CachedTokens += o.CachedTokens
	g.ReasoningTokens += o.ReasoningTokens
	g.CostNanos += o.CostNanos
	g.ReferenceCostNanos += o.ReferenceCostNanos
	g.Estimated += o.Estimated
	g.Errors += o.Errors
	g.LatencyMSSum += o.LatencyMSSum
	for i := range g.Latency {
		g.Latency[i] += o.Latency[i]
	}
	g.P50MS, g.P95MS, g.P99MS = Percentile(g.Latency, 0.5), Percentile(g.Latency, 0.95), Percentile(g.Latency, 0.99)
}

// Widener is implemented by stores whose summaries widen an edge that
// lies where the raw rows were pruned (both): see UsageSummary's reading
// rules in docs/metering.md, "Retention and rollups".
type Widener interface {
	// CountedRange returns the range a summary of f by by counts: f's
	// own, or wider at an edge whose raw rows (and hourly rollups) were
	// pruned, to the whole hour (or day) that holds it. A zero edge of f
	// stays zero (from the first record, up to now).
	CountedRange(ctx context.Context, f UsageFilter, by []GroupBy) (from, to time.Time, err error)
}
