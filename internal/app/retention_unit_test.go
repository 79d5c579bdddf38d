package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// A job with a Unit (a store that drops day partitions) is pruned to a
// cut-off rounded down to it; one without, to the exact cut-off.
func TestPruneRoundsToUnit(t *testing.T) {
	now := time.Date(2026, 3, 10, 13, 47, 5, 0, time.UTC)
	var got []time.Time
	prune := func(ctx context.Context, before time.Time, limit int, dryRun bool) (int64, error) {
		got = append(got, before)
		return 0, nil
	}
	jobs := []PruneJob{
		{Kind: "usage", Keep: 48 * time.Hour, Unit: 24 * time.Hour, Prune: prune},
		{Kind: "other", Keep: 48 * time.Hour, Prune: prune},
	}
	res, err := Prune(context.Background(), jobs, now, 100, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	day, exact := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), now.Add(-48*time.Hour)
	if len(got) != 2 || !got[0].Equal(day) || !got[1].Equal(exact) || !res[0].Before.Equal(day) {
		t.Errorf("cut-offs = %v (results %+v), want %v then %v", got, res, day, exact)
	}
}

// One kind that cannot be pruned (a failing delete) does not stop the
// others: each is pruned, the failure is returned, and its result is
// there with what it did before failing.
func TestPruneGoesOnAfterAFailedKind(t *testing.T) {
	fail := errors.New("audit rows are write-once here")
	var ran []string
	job := func(kind string, err error) PruneJob {
		return PruneJob{Kind: kind, Keep: time.Hour, Prune: func(ctx context.Context, before time.Time, limit int, dryRun bool) (int64, error) {
			ran = append(ran, kind)
			return 3, err
		}}
	}
	res, err := Prune(context.Background(), []PruneJob{job("usage", nil), job("audit", fail), job("rollup_minute", nil)}, time.Now(), 100, 0, false)
	if !errors.Is(err, fail) || !strings.Contains(err.Error(), "audit") {
		t.Errorf("err = %v, want the audit failure", err)
	}
	if len(ran) != 3 || len(res) != 3 || res[2].Kind != "rollup_minute" || res[2].Rows != 3 {
		t.Errorf("ran %v, results %+v: want every kind pruned", ran, res)
	}
}

// analyzerStore is a store that only counts Analyze calls.
type analyzerStore struct {
	store.Store
	calls chan struct{}
}

func (a analyzerStore) Analyze(context.Context) error {
	a.calls <- struct{}{}
	return errors.New("fails, and the loop goes on")
}

// The statistics loop asks an Analyzer store every interval, goes on after
// a failure, and stops when closed; other stores get no loop.
func TestAnalyzeLoop(t *testing.T) {
	a := analyzerStore{calls: make(chan struct{}, 100)}
	stop := startAnalyze(context.Background(), a, 5*time.Millisecond, slog.New(slog.DiscardHandler))
	for range 3 {
		select {
		case <-a.calls:
		case <-time.After(10 * time.Second):
			t.Fatal("Analyze was not called every interval")
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	n := len(a.calls)
	time.Sleep(30 * time.Millisecond)
	if len(a.calls) != n {
		t.Error("Analyze still called after the loop was stopped")
	}
	if err := startAnalyze(context.Background(), nil, time.Millisecond, slog.New(slog.DiscardHandler))(); err != nil {
		t.Fatal(err)
	}
}
