package store

import (
	"context"
	"time"
)

// Kind names a kind of record with its own retention.
type Kind string

// Record kinds the store keeps. Other packages keep their own kinds (stored
// conversations, cache entries, shadow comparisons) and register a Pruner
// for them with the retention loop.
const (
	KindUsage        Kind = "usage"
	KindAudit        Kind = "audit"
	KindRollupMinute Kind = "rollup_minute"
	// KindRollupSecond is not configured: second rollups are pruned by
	// the writers (SecondRollupsKept); its mark says from when a store
	// created before them has them.
	KindRollupSecond Kind = "rollup_second"
	// KindRollupTags is not configured either: its mark says from when a
	// store created before the second and minute rollups carried tags
	// has them with tags (summaries by tag read raw rows before it).
	KindRollupTags   Kind = "rollup_tags"
	KindRollupHourly Kind = "rollup_hourly"
	KindRollupDaily  Kind = "rollup_daily"
)

// Kinds lists the store's own kinds.
var Kinds = []Kind{KindUsage, KindAudit, KindRollupMinute, KindRollupHourly, KindRollupDaily}

// Pruner deletes at most limit records of one kind older than before and
// says how many it deleted; with dryRun it deletes nothing and counts all
// that would go. The retention loop calls it until it deletes fewer than
// limit, pausing between calls, so no call holds the database for long.
type Pruner func(ctx context.Context, before time.Time, limit int, dryRun bool) (int64, error)

// Retention is implemented by stores that can prune their records.
type Retention interface {
	// Prune is the Pruner of one of the store's kinds. Usage is pruned
	// whole hours at a time (before is truncated to the hour), so the
	// rollups take over exactly where raw rows end; audit rows are pruned
	// as a prefix of the chain, and the last pruned row's seq and hash
	// become the checkpoint Verify starts from.
	Prune(ctx context.Context, kind Kind, before time.Time, limit int, dryRun bool) (int64, error)
	// AuditCheckpoint returns the audit chain's checkpoint, nil before any
	// audit row was pruned.
	AuditCheckpoint(ctx context.Context) (*AuditCheckpoint, error)
	// Maintain gives space back after pruning: on SQLite a WAL checkpoint
	// and an incremental vacuum; on PostgreSQL nothing (autovacuum).
	Maintain(ctx context.Context) error
}

// Vacuumer is implemented by stores whose files can be compacted on
// demand (SQLite: a VACUUM, which also turns on incremental vacuum for a
// database created without it; a no-op elsewhere). `fulcrum store prune
// --vacuum` runs it after pruning.
type Vacuumer interface {
	Vacuum(ctx context.Context) error
}

// Upkeeper is implemented by stores with periodic work besides pruning
// (PostgreSQL: day partitions created ahead, an unpartitioned table
// converted online). The retention loop runs Upkeep every interval, before
// pruning.
type Upkeeper interface {
	Upkeep(ctx context.Context) error
}

// Analyzer is implemented by stores whose query planner needs statistics
// on the records of the day being written (PostgreSQL: a new day
// partition has none until analyzed, and is scanned whole meanwhile).
// Analyze gathers them when they are missing or stale and costs a few
// catalogue reads when they are not, so the gateway runs it every minute,
// much more often than Upkeep.
type Analyzer interface {
	Analyze(ctx context.Context) error
}

// PruneUnit is implemented by stores that prune some kinds in coarser
// steps than the retention loop's cut-off (PostgreSQL drops whole day
// partitions): the loop rounds its cut-off down to PruneUnit (0: none), so
// that pruning drops partitions rather than deleting rows one by one.
type PruneUnit interface {
	PruneUnit(kind Kind) time.Duration
}

// AuditHeader is implemented by stores that keep the audit chain's head
// apart from its rows (both): the seq and hash of the last row appended,
// moved in the transaction that appends it and never by pruning. Verify
// checks that the rows reach it, so that deleting the newest rows is found
// unless the head is rewritten as well. ok is false before any row was
// appended.
type AuditHeader interface {
	AuditHead(ctx context.Context) (seq int64, hash string, ok bool, err error)
}

// AuditCheckpoint is where the kept audit chain starts: the seq and hash
// of the last pruned row (the first kept row's seq is Seq+1 and its
// prev_hash is Hash), that row's time, and when it was pruned.
type AuditCheckpoint struct {
	Seq      int64     `json:"seq"`
	Hash     string    `json:"hash"`
	Time     time.Time `json:"time"`
	PrunedAt time.Time `json:"pruned_at"`
}

// KindResponses is the stored Responses API conversations
// (store.Responses), pruned by their creation time.
const KindResponses Kind = "responses"

// Marks is implemented by stores with retention (both): how far pruning
// has reached, so that a report can say what it cannot answer (`fulcrum
// usage --group-by user` over pruned months when the rollups name no end
// user).
type Marks interface {
	// PrunedBefore returns the time before which kind's records were
	// pruned (usage: a whole hour, or day where partitions were
	// dropped); the zero time when none were.
	PrunedBefore(ctx context.Context, kind Kind) (time.Time, error)
}
