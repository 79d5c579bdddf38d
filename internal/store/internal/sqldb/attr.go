package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Attribution rollups (store.AttrKey): usage_rollup_attr, kept in the
// transaction that stores the raw rows, like usage_rollup; and
// rollup_end_users, the end users each UTC day's rollups name (at most
// endUsersPerDay of them, see store.OtherUser).

const attrKeyCols = `grain, bucket, key_id, team, model, provider, hosting, tags, end_user`

const attrNCols = 9 + 11 + store.LatencyBuckets

// attrRowsPerStmt is how many rows one attribution upsert carries on
// SQLite: a combination's daily row and its hourly one, which is what a
// batch within one hour has per combination (see SortedAttrKeys).
const attrRowsPerStmt = 2

// attrSQL upserts rows rows of attribution sums; with Arrays, every row
// given as one array per column.
func (s *DB) attrSQL(rows int) string {
	upsert := attrUpsert()
	if s.d.Arrays {
		types := make([]string, attrNCols)
		for i := range types {
			t := "bigint"
			if i == 0 || (i >= 2 && i < 9) {
				t = "text"
			}
			types[i] = fmt.Sprintf("$%d::%s[]", i+1, t)
		}
		return `INSERT INTO usage_rollup_attr (` + attrKeyCols + `, ` + rollupSumCols + `) SELECT * FROM unnest(` +
			strings.Join(types, ", ") + `)` + upsert
	}
	return s.insertSQL("usage_rollup_attr", attrKeyCols+", "+rollupSumCols, attrNCols, rows) + upsert
}

func attrUpsert() string {
	var set []string
	for _, c := range strings.Split(rollupSumCols, ",") {
		c = strings.TrimSpace(c)
		set = append(set, c+" = usage_rollup_attr."+c+" + excluded."+c)
	}
	return ` ON CONFLICT (` + attrKeyCols + `) DO UPDATE SET ` + strings.Join(set, ", ")
}

// attrStmts are the prepared attribution upserts: for attrRowsPerStmt
// rows and for one and, with Arrays, for any number given as arrays.
type attrStmts struct {
	arr       stmt
	rows, big rowStmts // attrRowsPerStmt rows and one; rowsPerStmt rows
}

func (s *DB) prepareAttr(ctx context.Context) (a attrStmts, err error) {
	if s.d.Arrays {
		if a.arr, err = s.prepared(ctx, s.attrSQL(0)); err != nil {
			return a, err
		}
	}
	q := func(rows int) string {
		if s.d.Arrays {
			// attrSQL gives arrays; these are plain rows.
			return s.insertSQL("usage_rollup_attr", attrKeyCols+", "+rollupSumCols, attrNCols, rows) + attrUpsert()
		}
		return s.attrSQL(rows)
	}
	if a.rows, err = s.rowStmtsOf(ctx, attrNCols, attrRowsPerStmt, q); err != nil || s.d.Arrays {
		return a, err
	}
	a.big, err = s.rowStmtsOf(ctx, attrNCols, rowsPerStmt, q)
	return a, err
}

// attrArraysFrom is how many rows make an attribution upsert go as arrays
// (Arrays): fewer go as plain rows, whose parameters cost the client less
// to encode than 32 arrays.
const attrArraysFrom = 5

func appendAttrArgs(args []any, k store.AttrKey, d *store.RollupDelta) []any {
	args = append(args, k.Grain, k.Bucket, k.KeyID, k.Team, k.Model, k.Provider, k.Hosting, k.Tags, k.EndUser,
		d.Requests, d.InputTokens, d.OutputTokens, d.CachedTokens, d.CacheWriteTokens, d.ReasoningTokens,
		d.CostNanos, d.ReferenceCostNanos, d.Estimated, d.Errors, d.LatencyMSSum)
	for _, c := range d.Latency {
		args = append(args, c)
	}
	return args
}

// upsertAttr adds m to the attribution rollups in tx, in key order.
func (s *DB) upsertAttr(ctx context.Context, tx *sql.Tx, st attrStmts, m map[store.AttrKey]*store.RollupDelta) error {
	if len(m) == 0 {
		return nil
	}
	keys := store.SortedAttrKeys(m)
	if s.d.Arrays && len(keys) >= attrArraysFrom {
		var strs [8][]string // grain, key_id ... end_user
		var ints [1 + 11 + store.LatencyBuckets][]int64
		for _, k := range keys {
			d := m[k]
			for i, v := range [...]string{k.Grain, k.KeyID, k.Team, k.Model, k.Provider, k.Hosting, k.Tags, k.EndUser} {
				strs[i] = append(strs[i], v)
			}
			for i, v := range [...]int64{k.Bucket, d.Requests, d.InputTokens, d.OutputTokens, d.CachedTokens,
				d.CacheWriteTokens, d.ReasoningTokens, d.CostNanos, d.ReferenceCostNanos, d.Estimated, d.Errors, d.LatencyMSSum} {
				ints[i] = append(ints[i], v)
			}
			for i, c := range d.Latency {
				ints[12+i] = append(ints[12+i], c)
			}
		}
		args := make([]any, 0, attrNCols)
		args = append(args, strs[0], ints[0])
		for _, c := range strs[1:] {
			args = append(args, c)
		}
		for _, c := range ints[1:] {
			args = append(args, c)
		}
		return st.arr.exec(ctx, tx, args...)
	}
	// Many rows (a batch of many end users) go rowsPerStmt a statement,
	// the rest attrRowsPerStmt.
	i := 0
	if n := len(keys) / rowsPerStmt * rowsPerStmt; n > 0 && st.big.ok() {
		if err := st.big.exec(ctx, tx, n, func(args []any, j int) []any { return appendAttrArgs(args, keys[j], m[keys[j]]) }); err != nil {
			return err
		}
		i = n
	}
	return st.rows.exec(ctx, tx, len(keys)-i, func(args []any, j int) []any { return appendAttrArgs(args, keys[i+j], m[keys[i+j]]) })
}

// userDay is an end user on a UTC day (the day's start, Unix µs).
type userDay struct {
	day  int64
	user string
}

// endUsers caches what rollup_end_users said: which end users each recent
// day names (true) or sums under store.OtherUser (false), and which days
// are full. A day that is full never names another user, so both answers
// hold for good; they are cached only once the transaction that found
// them has committed.
type endUsers struct {
	mu   sync.Mutex // guards days
	days map[int64]*endUserDay
}

type endUserDay struct {
	users map[string]bool
	full  bool
}

// endUsersDays is how many days endUsers keeps (the most recent ones).
const endUsersDays = 3

// lookup returns what the cache knows of u (known false: ask the database).
func (c *endUsers) lookup(u userDay) (named, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.days[u.day]
	if d == nil {
		return false, false
	}
	named, known = d.users[u.user]
	return named, known
}

// isFull reports whether day is known to be full.
func (c *endUsers) isFull(day int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.days[day]
	return d != nil && d.full
}

// learn records answers found by a committed transaction.
func (c *endUsers) learn(found map[userDay]bool, full map[int64]bool, limit int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.days == nil {
		c.days = map[int64]*endUserDay{}
	}
	for u, named := range found {
		d := c.days[u.day]
		if d == nil {
			d = &endUserDay{users: map[string]bool{}}
			c.days[u.day] = d
		}
		d.full = d.full || full[u.day]
		// Named users are at most limit a day; users over the cap are
		// kept only as many, then asked about again each time.
		if named || len(d.users) < 2*limit {
			d.users[u.user] = named
		}
	}
	for len(c.days) > endUsersDays {
		oldest := int64(1<<63 - 1)
		for day := range c.days {
			oldest = min(oldest, day)
		}
		delete(c.days, oldest)
	}
}

// endUsersPerDay is the cap in force; 0: the rollups name no end user.
func (s *DB) endUsersPerDay() int { return int(s.userCap.Load()) }

// SetEndUsersPerDay sets how many distinct end users a UTC day's
// attribution rollups name before summing the rest under
// store.OtherUser; n <= 0 (the default) names none: every end user is
// summed under store.OtherUser, and summaries by end user read raw rows.
func (s *DB) SetEndUsersPerDay(n int) { s.userCap.Store(int64(max(n, 0))) }

// attrWork is what a batch found about end users, for the cache once the
// batch has committed.
type attrWork struct {
	found map[userDay]bool
	full  map[int64]bool
}

// capUsers returns, for each end user of the records keep allows, the name
// the rollups sum them under: their own, or store.OtherUser once their day
// names endUsersPerDay others. Users new to a day are admitted in tx, in
// the order the batch first names them, a day's at a time (admit).
func (s *DB) capUsers(ctx context.Context, tx *sql.Tx, recs []store.UsageRecord, keep []bool, w *attrWork) (map[userDay]string, error) {
	if s.endUsersPerDay() == 0 {
		return nil, nil // sumRollups names no one
	}
	var names map[userDay]string
	var ask []userDay // not cached, in first-named order
	for i := range recs {
		r := &recs[i]
		if r.EndUser == "" || (keep != nil && !keep[i]) {
			continue
		}
		u := userDay{store.BucketStart(r.Time.UnixMicro(), store.GrainDay), r.EndUser}
		if _, ok := names[u]; ok {
			continue
		}
		if names == nil {
			names = map[userDay]string{}
		}
		named, known := s.users.lookup(u)
		switch {
		case !known:
			names[u] = "" // decided below
			ask = append(ask, u)
		case named:
			names[u] = u.user
		default:
			names[u] = store.OtherUser
		}
	}
	for len(ask) > 0 {
		// One day's users at a time; the rest wait for the next turn.
		day, users, rest := ask[0].day, []string(nil), ask[:0:0]
		for _, u := range ask {
			if u.day == day {
				users = append(users, u.user)
			} else {
				rest = append(rest, u)
			}
		}
		named, err := s.admit(ctx, tx, day, users, w)
		if err != nil {
			return nil, fmt.Errorf("end users: %w", err)
		}
		for _, user := range users {
			u := userDay{day, user}
			names[u] = store.OtherUser
			if named[user] {
				names[u] = user
			}
		}
		ask = rest
	}
	return names, nil
}

// admitChunk bounds the users one statement of admit names (2 parameters
// each on insert).
const admitChunk = 200

// admit returns which of users (new to the cache, in first-named order)
// day names: those it names already, then new ones while the day has room.
// Under concurrent PostgreSQL writers a day may name a few more than the
// cap: each counts the day's users before adding its own.
func (s *DB) admit(ctx context.Context, tx *sql.Tx, day int64, users []string, w *attrWork) (map[string]bool, error) {
	if w.found == nil {
		w.found, w.full = map[userDay]bool{}, map[int64]bool{}
	}
	named := make(map[string]bool, len(users))
	for i := 0; i < len(users); i += admitChunk {
		chunk := users[i:min(i+admitChunk, len(users))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, day)
		for _, u := range chunk {
			args = append(args, u)
		}
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT end_user FROM rollup_end_users WHERE day = ? AND end_user IN (?`+
			strings.Repeat(", ?", len(chunk)-1)+`)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return nil, err
			}
			named[u] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var fresh []string
	for _, u := range users {
		if !named[u] {
			fresh = append(fresh, u)
		}
	}
	if len(fresh) > 0 && !s.users.isFull(day) {
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM rollup_end_users WHERE day = ?`), day).Scan(&n); err != nil {
			return nil, err
		}
		room := max(0, s.endUsersPerDay()-n)
		// The first named get the room; they are inserted in name order,
		// so that concurrent writers lock them alike (PostgreSQL).
		admitted := slices.Sorted(slices.Values(fresh[:min(room, len(fresh))]))
		w.full[day] = room <= len(fresh)
		for i := 0; i < len(admitted); i += admitChunk {
			chunk := admitted[i:min(i+admitChunk, len(admitted))]
			args := make([]any, 0, 2*len(chunk))
			for _, u := range chunk {
				args = append(args, day, u)
			}
			// Another writer may name a user meanwhile (PostgreSQL):
			// then its insert does nothing and the user is named all
			// the same.
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO rollup_end_users (day, end_user) VALUES (?, ?)`+
				strings.Repeat(", (?, ?)", len(chunk)-1)+` ON CONFLICT DO NOTHING`), args...); err != nil {
				return nil, err
			}
			for _, u := range chunk {
				named[u] = true
			}
		}
	} else if len(fresh) > 0 {
		w.full[day] = true
	}
	for _, u := range users {
		w.found[userDay{day, u}] = named[u]
	}
	return named, nil
}

// sumRollups is store.AddRollups and store.AddAttr over the records keep
// allows (all when keep is nil): the main rollups' rows and the
// attribution ones, each record's tags encoded once for both.
func sumRollups(recs []store.UsageRecord, keep []bool, names map[userDay]string) (map[store.RollupKey]*store.RollupDelta, map[store.AttrKey]*store.RollupDelta) {
	rm := make(map[store.RollupKey]*store.RollupDelta, 8)
	am := make(map[store.AttrKey]*store.RollupDelta, 4)
	for i := range recs {
		if keep != nil && !keep[i] {
			continue
		}
		r := &recs[i]
		user := ""
		if r.EndUser != "" {
			user = store.OtherUser
			if names != nil {
				user = names[userDay{store.BucketStart(r.Time.UnixMicro(), store.GrainDay), r.EndUser}]
			}
		}
		tags := jsonTags(r.Tags)
		store.AddRollups(rm, r, jsonList(r.DataClasses), tags)
		store.AddAttr(am, r, tags, user)
	}
	return rm, am
}

// writeRollups adds the records keep allows to the main and the
// attribution rollups in tx: the end users first (capUsers), then the main
// rollups' rows, then the attribution ones, in key order, so that every
// transaction locks them in one order. With Arrays, a batch of one
// combination and one tag set within one second (four main rows and two
// attribution rows, what a lightly loaded gateway commits) goes in one statement: PostgreSQL
// then pays one round trip for both.
func (s *DB) writeRollups(ctx context.Context, tx *sql.Tx, st usageStmts, recs []store.UsageRecord, keep []bool, w *attrWork) error {
	names, err := s.capUsers(ctx, tx, recs, keep, w)
	if err != nil {
		return err
	}
	rm, am := sumRollups(recs, keep, names)
	if st.both.ok() && len(rm) == rollupRowsPerStmt && len(am) == attrRowsPerStmt {
		args := make([]any, 0, rollupRowsPerStmt*rollupNCols+attrRowsPerStmt*attrNCols)
		for _, k := range store.SortedRollupKeys(rm) {
			args = appendRollupArgs(args, k, rm[k])
		}
		for _, k := range store.SortedAttrKeys(am) {
			args = appendAttrArgs(args, k, am[k])
		}
		if err := st.both.exec(ctx, tx, args...); err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
		return nil
	}
	if err := s.upsertRollups(ctx, tx, st, rm); err != nil {
		return err
	}
	if err := s.upsertAttr(ctx, tx, st.attr, am); err != nil {
		return fmt.Errorf("attribution rollups: %w", err)
	}
	return nil
}

// bothSQL upserts rollupRowsPerStmt main rollup rows and attrRowsPerStmt
// attribution rows in one statement (PostgreSQL: the first upsert as a
// data-modifying WITH, which runs to completion before the second).
func (s *DB) bothSQL() string {
	return s.rebind(`WITH r AS (` + rowsSQL("usage_rollup", rollupKeyCols+", "+rollupSumCols, rollupNCols, rollupRowsPerStmt) +
		rollupUpsert() + `) ` + rowsSQL("usage_rollup_attr", attrKeyCols+", "+rollupSumCols, attrNCols, attrRowsPerStmt) + attrUpsert())
}

// userExpr is the end user of a raw usage row as the attribution rollups
// name it (see capUsers).
const userExpr = `CASE WHEN end_user = '' OR EXISTS (SELECT 1 FROM rollup_end_users e
	WHERE e.day = usage.ts - usage.ts % 86400000000 AND e.end_user = usage.end_user) THEN end_user ELSE '` + store.OtherUser + `' END`
