package store

import (
	"cmp"
	"slices"
	"strings"
)

// Attribution rollups: usage summed per hour and per UTC day by key, team,
// model, provider, hosting, the request's tags and its end user, so that
// summaries grouped by tag or by end user read a few rows per hour too,
// and outlive the raw rows (docs/metering.md, "Retention and rollups").
// They are kept beside the main rollups (which have no tag or user
// dimension) and pruned with the hourly and daily ones.
//
// End users are as many as the clients choose to name, and an end user
// id is often personal data, so the rollups name none by default: every
// end user is summed under OtherUser, a record costs no more to roll up
// than one without an end user, and summaries grouped by end user read the
// raw rows (within their retention). With a per-day cap set
// (metering.retention.rollup_end_users), the first that many distinct end
// users of a UTC day (in the order their first record commits) keep their
// name in the rollups and later ones are summed under OtherUser;
// summaries grouped by end user then apply the same rule to the raw rows
// they read, so a summary does not change with the path that answers it.

// OtherUser is the end user the rollups sum a day's end users under: all
// of them when the rollups name none, the rest once the day has named its
// cap.
const OtherUser = "(other)"

// AttrKey identifies an attribution rollup row. Tags is the usage row's
// tags column (a JSON object with sorted keys, "" for none): grouping by
// one tag reads that tag's value from it, as it does on raw rows, so a
// record with several tags counts once in a summary by any one of them.
type AttrKey struct {
	Grain                                 string // GrainHour or GrainDay
	Bucket                                int64  // bucket start, Unix µs
	KeyID, Team, Model, Provider, Hosting string
	Tags, EndUser                         string
}

// AddAttr adds r, whose tags column is tags and whose end user, capped, is
// user, to its hourly and daily attribution rows in m.
func AddAttr(m map[AttrKey]*RollupDelta, r *UsageRecord, tags, user string) {
	us := r.Time.UnixMicro()
	for _, g := range [...]string{GrainHour, GrainDay} {
		k := AttrKey{Grain: g, Bucket: BucketStart(us, g), KeyID: r.KeyID, Team: r.Team, Model: r.Model,
			Provider: r.Provider, Hosting: r.Hosting, Tags: tags, EndUser: user}
		d := m[k]
		if d == nil {
			d = &RollupDelta{}
			m[k] = d
		}
		d.Add(r)
	}
}

// BucketStart returns the start (Unix µs) of the grain's bucket holding us.
func BucketStart(us int64, grain string) int64 {
	w := GrainWidth(grain).Microseconds()
	b := us - us%w
	if us%w < 0 {
		b -= w
	}
	return b
}

// SortedAttrKeys returns m's keys in one global order, so that concurrent
// transactions lock attribution rows alike: by everything but the grain
// and bucket first, so that a combination's daily row and its hourly rows
// are next to each other (the day first), as one multi-row upsert may
// write them.
func SortedAttrKeys(m map[AttrKey]*RollupDelta) []AttrKey {
	keys := make([]AttrKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareAttr)
	return keys
}

func compareAttr(a, b AttrKey) int {
	return cmp.Or(strings.Compare(a.KeyID, b.KeyID), strings.Compare(a.Team, b.Team), strings.Compare(a.Model, b.Model),
		strings.Compare(a.Provider, b.Provider), strings.Compare(a.Hosting, b.Hosting), strings.Compare(a.Tags, b.Tags),
		strings.Compare(a.EndUser, b.EndUser), cmp.Compare(a.Bucket, b.Bucket), strings.Compare(a.Grain, b.Grain))
}
