package storetest

import (
	"context"
	"encoding/hex"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Bench runs the write benchmarks every store.Store should be measured
// with: InsertUsage and AppendAuditBatch in batches of the sizes the
// recorder and the audit writer use. open returns a fresh, migrated, empty
// store and arranges its cleanup. ns/op is per record (per row).
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	// Batches of 8 and 32 are what the recorder's flush makes at about 100
	// and 1,000 requests/s; left out of the quick run (.ci/run), where
	// benchmarks only have to run.
	sizes := []int{1, 8, 32, 128, 500}
	if os.Getenv("FULCRUM_BENCH_QUICK") != "" {
		sizes = []int{1, 128, 500}
	}
	for _, n := range sizes {
		b.Run("InsertUsage/batch="+strconv.Itoa(n), func(b *testing.B) { benchInsertUsage(b, open(b), n, nil) })
	}
	// Records that name one of 2,000 end users and carry a team tag. By
	// default the attribution rollups name no end user (users=off); with a
	// per-day cap (users=named) they have a row per user (and day, and
	// hour).
	for _, named := range []bool{false, true} {
		name := "InsertUsage/users=off/batch=128"
		if named {
			name = "InsertUsage/users=named/batch=128"
		}
		b.Run(name, func(b *testing.B) {
			s := open(b)
			if c, ok := s.(userCapper); ok && named {
				c.SetEndUsersPerDay(10000)
			}
			benchInsertUsage(b, s, 128, func(r *store.UsageRecord, seq int) {
				r.EndUser = "user-" + strconv.Itoa(seq%2000)
				r.Tags = benchTags[seq%len(benchTags)]
			})
		})
	}
	for _, n := range []int{128, 500} {
		b.Run("AppendAuditBatch/batch="+strconv.Itoa(n), func(b *testing.B) { benchAppendAudit(b, open(b), n) })
	}
	for _, n := range []int{0, 2} {
		b.Run("PutUpstreamResponse/items="+strconv.Itoa(n), func(b *testing.B) { benchPutUpstreamResponse(b, open(b), n) })
	}
	for _, n := range []int{1, 50, 500} {
		b.Run("OwnedItems/ids="+strconv.Itoa(n), func(b *testing.B) { benchOwnedItems(b, open(b), n) })
	}
	perHour := 120
	if os.Getenv("FULCRUM_BENCH_QUICK") != "" {
		perHour = 12 // see BenchSummary30Days
	}
	b.Run("Summary30Days/perHour="+strconv.Itoa(perHour), func(b *testing.B) { BenchSummary30Days(b, open(b), perHour) })
}

// BenchRecord is a usage record as the gateway writes one for a keyed
// request; callers set RequestID and Time.
func BenchRecord() store.UsageRecord {
	return store.UsageRecord{
		Time: time.Date(2026, 7, 24, 12, 0, 0, 0, time.UTC), Attempt: 1, KeyID: "key_7f3a9c", Team: "red",
		Model: "gpt-4o-mini", Provider: "openai", UpstreamModel: "gpt-4o-mini", Hosting: "proprietary",
		Status: 200, LatencyMS: 3, InputTokens: 12, OutputTokens: 9, CostNanos: 7200,
	}
}

var benchTags = []map[string]string{{"team": "search"}, {"team": "ads"}, {"team": "support", "feature": "chat"}, nil}

// benchInsertUsage inserts BenchRecords in batches; mod, when set, changes
// the seq-th record.
func benchInsertUsage(b *testing.B, s store.Store, batch int, mod func(r *store.UsageRecord, seq int)) {
	ctx := context.Background()
	recs := make([]store.UsageRecord, batch)
	for i := range recs {
		recs[i] = BenchRecord()
	}
	seq := 0
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, CPUTime())
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		for i := range recs[:n] {
			seq++
			recs[i].RequestID = BenchRequestID(seq)
			recs[i].Time = recs[i].Time.Add(time.Microsecond)
			if mod != nil {
				mod(&recs[i], seq)
			}
		}
		got, err := s.InsertUsage(ctx, recs[:n])
		if err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("InsertUsage: %d new, want %d", got, n)
		}
	}
}

func benchAppendAudit(b *testing.B, s store.Store, batch int) {
	ctx := context.Background()
	rows := make([]store.AuditRow, batch)
	seq := 0
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, CPUTime())
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		for i := range rows[:n] {
			seq++
			rows[i] = store.AuditRow{Time: time.Unix(int64(seq), 0), RequestID: BenchRequestID(seq), KeyID: "key_7f3a9c",
				Action: "none", Candidates: []string{"openai:proprietary"}, Chosen: "openai", ChosenHosting: "proprietary", Outcome: "200"}
		}
		if err := s.AppendAuditBatch(ctx, rows[:n], testHash); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU adds cpu-µs/op, the process CPU per record since cpu0.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(CPUTime()-cpu0)/1e3/float64(b.N), "cpu-µs/op")
}

// BenchRequestID is the i-th request id shaped like the gateway's: "req_",
// a random per-process prefix and a base-36 counter.
func BenchRequestID(i int) string {
	return "req_3f9a1c2b7d4e" + strconv.FormatUint(uint64(i), 36)
}

// BenchRandomRequestID is the i-th of a deterministic sequence of random
// request ids ("req_" and 24 hex digits, as the gateway made them before
// it counted): they land all over the (request_id, attempt) index.
func BenchRandomRequestID(i int) string {
	var b [12]byte
	x := uint64(i)
	for j := 0; j < len(b); j += 8 {
		// splitmix64
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		for k := 0; k < 8 && j+k < len(b); k++ {
			b[j+k] = byte(z >> (8 * k))
		}
	}
	return "req_" + hex.EncodeToString(b[:])
}
