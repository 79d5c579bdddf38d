package shadow

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		method, live, cand string
		wantMethod         string
		agree              bool
	}{
		{"", "The answer is 18.", "So she makes $18 a day.", "numeric", true},
		{"", "#### 1,234", "it is 1234.0", "numeric", true},
		{"", "The answer is 18.", "The answer is 19.", "numeric", false},
		{"", `{"a": 1}`, "```json\n{\"b\": 2}\n```", "json", true},
		{"", `{"a": 1}`, "sure: a is one", "json", false},
		{"json", "plain words", "other words", "json", true},
		{"", "Paris", " paris ", "equals", true},
		{"", "Paris", "Lyon", "equals", false},
		{"equals", "use {{x}}", "USE {{x}}", "equals", true},
		{"numeric", "no number here", "42", "numeric", false},
	} {
		got := Compare(c.method, c.live, c.cand)
		if got.Method != c.wantMethod || got.Agree != c.agree {
			t.Errorf("Compare(%q, %q, %q) = %+v; want method %s agree %v", c.method, c.live, c.cand, got, c.wantMethod, c.agree)
		}
	}
}

func TestParseWinner(t *testing.T) {
	for in, want := range map[string]string{
		`{"winner": "A", "reason": "x"}`: "a",
		`{"winner":"b"}`:                 "b",
		`Winner: tie`:                    "tie",
		`I prefer the first`:             "",
		`{"winner": "Both"}`:             "",
	} {
		if got := parseWinner(in); got != want {
			t.Errorf("parseWinner(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSampleFilters(t *testing.T) {
	r := 0.3
	e := New(Options{Rand: func() float64 { return r }, Rules: []Rule{
		{Name: "half", Candidates: []string{"c"}, SampleRate: 0.5},
		{Name: "team", Candidates: []string{"c"}, SampleRate: 1, Teams: []string{"red"}},
		{Name: "plain", Candidates: []string{"c"}, SampleRate: 1, DataClasses: []string{"none"}},
	}})
	red, blue := &gateway.Caller{KeyID: "k1", Team: "red"}, &gateway.Caller{KeyID: "k2", Team: "blue"}
	for _, c := range []struct {
		model  string
		caller *gateway.Caller
		rand   float64
		want   bool
	}{
		{"half", red, 0.3, true},
		{"half", red, 0.7, false},
		{"other", red, 0, false},
		{"team", red, 0.9, true},
		{"team", blue, 0, false},
		{"team", nil, 0, false},
		{"plain", blue, 0, true}, // no verdict: no class
	} {
		r = c.rand
		if got := e.Sample(c.model, c.caller, nil, nil); got != c.want {
			t.Errorf("Sample(%s, %v, rand %g) = %v, want %v", c.model, c.caller, c.rand, got, c.want)
		}
	}
}

// Offer on an engine whose workers never started: the queue fills, then
// every further sample is dropped and counted, never waited for.
func TestOfferDropsWhenFull(t *testing.T) {
	e := New(Options{QueueSize: 2, Rules: []Rule{{Name: "m", Candidates: []string{"c"}, SampleRate: 1}}})
	for range 5 {
		e.Offer(&gateway.ShadowRequest{Model: "m"})
	}
	if d := e.Dropped(); d != 3 {
		t.Fatalf("dropped %d, want 3", d)
	}
	e.Close()
	if d := e.Dropped(); d != 5 {
		t.Fatalf("after Close: dropped %d, want 5 (the queued ones too)", d)
	}
}

// sink records each InsertShadow call's rows.
type sink struct {
	mu    sync.Mutex
	calls [][]store.ShadowResult
}

func (s *sink) InsertShadow(_ context.Context, rows []store.ShadowResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, rows)
	return nil
}

// TestStoreBatches: samples finished within StoreInterval are stored in
// one InsertShadow; Wait returns only once they are stored, and Close
// stores what the writer still holds.
func TestStoreBatches(t *testing.T) {
	for _, c := range []struct {
		name     string
		interval time.Duration
		close    bool
	}{
		{"wait", 20 * time.Millisecond, false},
		{"close", time.Hour, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			sk := &sink{}
			e := New(Options{Sink: sk, StoreInterval: c.interval})
			e.Start()
			defer e.Close()
			for i, id := range []string{"r1", "r2", "r3"} {
				e.pending.Add(1)
				e.writes <- sampleRows{requestID: id, rows: []store.ShadowResult{{RequestID: id, Candidate: fmt.Sprint("c", i)}}}
			}
			if c.close {
				e.Close()
			} else {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := e.Wait(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if n := e.pending.Load(); n != 0 {
				t.Errorf("pending %d after the rows were stored", n)
			}
			sk.mu.Lock()
			defer sk.mu.Unlock()
			if len(sk.calls) != 1 || len(sk.calls[0]) != 3 || sk.calls[0][2].RequestID != "r3" {
				t.Errorf("InsertShadow calls %+v; want one with r1, r2, r3", sk.calls)
			}
		})
	}
}
