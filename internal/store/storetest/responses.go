package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// testResponses: a stored response is read back whole by its owner only,
// deleted by its owner only, and pruned by its creation time.
func testResponses(t *testing.T, s store.Store) {
	rs, ok := s.(store.Responses)
	if !ok {
		t.Fatal("the store does not keep Responses conversations")
	}
	ctx := context.Background()
	r := &store.StoredResponse{ID: "resp_1", Owner: "key_a", Created: t0, Model: "m",
		Items:    []byte(`[{"role":"user","content":"hi"}]`),
		Output:   []byte(`[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"hello"}]}]`),
		Response: []byte(`{"id":"resp_1","object":"response"}`),
		Policies: []string{"default", "strict"}, Declared: []string{"phi"}}
	if err := rs.PutResponse(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := rs.PutResponse(ctx, r); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second put: %v, want ErrConflict", err)
	}
	got, err := rs.GetResponse(ctx, "resp_1", "key_a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner != "key_a" || !got.Created.Equal(t0.Truncate(time.Microsecond)) || got.Model != "m" ||
		string(got.Items) != string(r.Items) || string(got.Output) != string(r.Output) || string(got.Response) != string(r.Response) ||
		!slices.Equal(got.Policies, r.Policies) || !slices.Equal(got.Declared, r.Declared) {
		t.Errorf("got %+v", got)
	}
	if _, err := rs.GetResponse(ctx, "resp_1", "key_b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another owner's get: %v, want ErrNotFound", err)
	}
	if _, err := rs.GetResponse(ctx, "resp_1", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("anonymous get: %v, want ErrNotFound", err)
	}
	if err := rs.DeleteResponse(ctx, "resp_1", "key_b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another owner's delete: %v, want ErrNotFound", err)
	}
	if err := rs.DeleteResponse(ctx, "resp_1", "key_a"); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.GetResponse(ctx, "resp_1", "key_a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if err := rs.DeleteResponse(ctx, "resp_1", "key_a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}

	// Retention: responses older than the cut go, newer ones stay.
	rt, ok := s.(store.Retention)
	if !ok {
		return
	}
	for i, age := range []time.Duration{40 * 24 * time.Hour, 31 * 24 * time.Hour, 29 * 24 * time.Hour, time.Hour} {
		old := *r
		old.ID, old.Created = "resp_age"+string(rune('a'+i)), t0.Add(-age)
		if err := rs.PutResponse(ctx, &old); err != nil {
			t.Fatal(err)
		}
	}
	cut := t0.Add(-30 * 24 * time.Hour)
	if n, err := rt.Prune(ctx, store.KindResponses, cut, 100, true); err != nil || n != 2 {
		t.Errorf("dry run: %d, %v; want 2", n, err)
	}
	if n, err := rt.Prune(ctx, store.KindResponses, cut, 1, false); err != nil || n != 1 {
		t.Errorf("prune in batches of 1: %d, %v; want 1", n, err)
	}
	if n, err := rt.Prune(ctx, store.KindResponses, cut, 100, false); err != nil || n != 1 {
		t.Errorf("second batch: %d, %v; want 1", n, err)
	}
	for i, want := range []bool{false, false, true, true} {
		_, err := rs.GetResponse(ctx, "resp_age"+string(rune('a'+i)), "key_a")
		if (err == nil) != want {
			t.Errorf("resp_age%c kept = %v, want %v", 'a'+i, err == nil, want)
		}
	}
}
