package storetest

import (
	"context"
	"errors"
	"maps"
	"os"
	"slices"
	"strconv"
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

	testResponseItems(t, rs)

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
	// The item ids of a pruned response go with it.
	old := &store.StoredResponse{ID: "resp_old_items", Owner: "key_a", Created: t0.Add(-40 * 24 * time.Hour), Model: "m", ItemIDs: []string{"msg_old"}}
	if err := rs.PutResponse(ctx, old); err != nil {
		t.Fatal(err)
	}
	if n, err := rt.Prune(ctx, store.KindResponses, cut, 100, false); err != nil || n != 2 {
		t.Errorf("prune of a response with an item: %d, %v; want 2 rows", n, err)
	}
	if got, err := rs.OwnedItems(ctx, "key_a", []string{"msg_old"}); err != nil || len(got) != 0 {
		t.Errorf("item of a pruned response: %v, %v", got, err)
	}
}

// testResponseItems: the output item ids of an upstream-kept response are
// owned by the key that made it, for no other; a second claim on an id
// does not take it over; they are deleted with their response.
func testResponseItems(t *testing.T, rs store.Responses) {
	ctx := context.Background()
	a := &store.StoredResponse{ID: "resp_up_a", Owner: "key_a", Created: t0, Model: "m", ItemIDs: []string{"rs_a", "msg_a"}}
	if err := rs.PutResponse(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := &store.StoredResponse{ID: "resp_up_b", Owner: "key_b", Created: t0, Model: "m", ItemIDs: []string{"msg_b", "msg_a"}}
	if err := rs.PutResponse(ctx, b); err != nil {
		t.Fatal(err)
	}
	// A conflicting put records none of its items.
	c := &store.StoredResponse{ID: "resp_up_a", Owner: "key_b", Created: t0, Model: "m", ItemIDs: []string{"msg_c"}}
	if err := rs.PutResponse(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Errorf("conflicting put: %v, want ErrConflict", err)
	}
	// Enough ids to need more than one query.
	ids := []string{"rs_a", "msg_a", "msg_b", "msg_c", "msg_none"}
	for i := range 1200 {
		ids = append(ids, "msg_pad"+strconv.Itoa(i))
	}
	for owner, want := range map[string][]string{"key_a": {"msg_a", "rs_a"}, "key_b": {"msg_b"}, "": nil} {
		got, err := rs.OwnedItems(ctx, owner, ids)
		if err != nil {
			t.Fatal(err)
		}
		if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
			t.Errorf("%q owns %v, want %v", owner, keys, want)
		}
	}
	if err := rs.DeleteResponse(ctx, "resp_up_a", "key_a"); err != nil {
		t.Fatal(err)
	}
	if got, err := rs.OwnedItems(ctx, "key_a", ids); err != nil || len(got) != 0 {
		t.Errorf("items of a deleted response: %v, %v", got, err)
	}
	if got, err := rs.OwnedItems(ctx, "key_b", []string{"msg_b"}); err != nil || !got["msg_b"] {
		t.Errorf("another owner's items after the delete: %v, %v", got, err)
	}
	if err := rs.DeleteResponse(ctx, "resp_up_b", "key_b"); err != nil {
		t.Fatal(err)
	}
}

// benchPutUpstreamResponse records upstream-kept responses as the gateway
// does for each pass-through answer: the id and n output item ids (two:
// reasoning and message; none: the record before items were owned).
func benchPutUpstreamResponse(b *testing.B, s store.Store, n int) {
	rs := s.(store.Responses)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := strconv.Itoa(i)
		items := []string{"rs_" + id, "msg_" + id}[:n]
		if err := rs.PutResponse(ctx, &store.StoredResponse{ID: "resp_" + id, Owner: "key_" + strconv.Itoa(i%10), Created: t0, Model: "m",
			ItemIDs: items}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchOwnedItems is the check of a pass-through request whose input
// names n item ids (a conversation given back whole, ids included), among
// 20,000 recorded items of ten keys; one id in ten is another key's.
func benchOwnedItems(b *testing.B, s store.Store, n int) {
	rs := s.(store.Responses)
	ctx := context.Background()
	responses := 10000
	if os.Getenv("FULCRUM_BENCH_QUICK") != "" {
		// .ci/run: benchmarks only have to run; 10,000 one-transaction
		// puts took a minute and a half under -race on SQLite.
		responses = 1000
	}
	for i := range responses {
		r := strconv.Itoa(i)
		if err := rs.PutResponse(ctx, &store.StoredResponse{ID: "resp_" + r, Owner: "key_" + strconv.Itoa(i%10), Created: t0, Model: "m",
			ItemIDs: []string{"rs_" + r, "msg_" + r}}); err != nil {
			b.Fatal(err)
		}
	}
	ids := make([]string, n)
	for i := range ids {
		r := i * 10 // key_0's
		if i%10 == 9 {
			r++ // key_1's
		}
		ids[i] = "msg_" + strconv.Itoa(r%responses)
	}
	b.ResetTimer()
	for b.Loop() {
		owned, err := rs.OwnedItems(ctx, "key_0", ids)
		if err != nil || len(owned) == 0 {
			b.Fatal(len(owned), err)
		}
	}
}
