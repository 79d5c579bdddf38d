package sqlite_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

// Shadow results round-trip, filter by candidate and time, and are pruned
// by retention.shadow.
func TestShadowResults(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rows := []store.ShadowResult{
		{Time: t0, RequestID: "r1", KeyID: "k", Team: "red", Route: "m", Live: "m", LiveProvider: "api", LiveHosting: "proprietary",
			Candidate: "c1", CandidateProvider: "gpu", CandidateHosting: "self_hosted", DataClasses: []string{"email"}, PolicyAction: "self_hosted_only",
			Method: "numeric", Verdict: "agree", Judge: "tie", JudgeModel: "j", LiveLatencyMS: 120, CandidateLatencyMS: 340,
			LiveInputTokens: 10, LiveOutputTokens: 20, CandInputTokens: 11, CandOutputTokens: 21, LiveCostNanos: 5000, CandidateCostNanos: 700, JudgeCostNanos: 90, SampleRate: 0.25, Prompt: "what is 2+2?"},
		{Time: t0.Add(48 * time.Hour), RequestID: "r2", Route: "m", Candidate: "c2", Verdict: "error", ErrorCode: "upstream_timeout"},
	}
	if err := s.InsertShadow(ctx, rows); err != nil {
		t.Fatal(err)
	}
	got, err := s.ShadowResults(ctx, store.ShadowFilter{Candidate: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rows[:1], got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if got, _ := s.ShadowResults(ctx, store.ShadowFilter{From: t0.Add(time.Hour)}); len(got) != 1 || got[0].RequestID != "r2" {
		t.Errorf("from filter: %+v", got)
	}
	n, err := s.Prune(ctx, store.KindShadow, t0.Add(24*time.Hour), 100, false)
	if err != nil || n != 1 {
		t.Fatalf("prune: %d, %v; want 1", n, err)
	}
	if got, _ := s.ShadowResults(ctx, store.ShadowFilter{}); len(got) != 1 || got[0].RequestID != "r2" {
		t.Errorf("after prune: %+v", got)
	}
}
