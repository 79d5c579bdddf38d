package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// testShadow: shadow results round-trip, filter by candidate and time, and
// are pruned by retention.shadow.
func testShadow(t *testing.T, s store.Store) {
	ss, ok := s.(store.Shadows)
	if !ok {
		t.Fatal("the store does not keep shadow comparisons")
	}
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rows := []store.ShadowResult{
		{Time: t0, RequestID: "r1", KeyID: "k", Team: "red", Route: "m", Live: "m", LiveProvider: "api", LiveHosting: "proprietary",
			Candidate: "c1", CandidateProvider: "gpu", CandidateHosting: "self_hosted", DataClasses: []string{"email"}, PolicyAction: "self_hosted_only",
			Method: "numeric", Verdict: "agree", Judge: "tie", JudgeModel: "j", LiveLatencyMS: 120, CandidateLatencyMS: 340,
			LiveInputTokens: 10, LiveOutputTokens: 20, CandInputTokens: 11, CandOutputTokens: 21, LiveCostNanos: 5000, CandidateCostNanos: 700, JudgeCostNanos: 90, SampleRate: 0.25, Prompt: "what is 2+2?"},
		{Time: t0.Add(48 * time.Hour), RequestID: "r2", Route: "m", Candidate: "c2", Verdict: "error", ErrorCode: "upstream_timeout"},
	}
	if err := ss.InsertShadow(ctx, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ss.ShadowResults(ctx, store.ShadowFilter{Candidate: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rows[:1], got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if got, _ := ss.ShadowResults(ctx, store.ShadowFilter{From: t0.Add(time.Hour)}); len(got) != 1 || got[0].RequestID != "r2" {
		t.Errorf("from filter: %+v", got)
	}
	rt, ok := s.(store.Retention)
	if !ok {
		t.Fatal("the store cannot prune")
	}
	n, err := rt.Prune(ctx, store.KindShadow, t0.Add(24*time.Hour), 100, false)
	if err != nil || n != 1 {
		t.Fatalf("prune: %d, %v; want 1", n, err)
	}
	if got, _ := ss.ShadowResults(ctx, store.ShadowFilter{}); len(got) != 1 || got[0].RequestID != "r2" {
		t.Errorf("after prune: %+v", got)
	}
}
