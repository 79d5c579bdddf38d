package loadgen

import (
	"testing"
	"time"
)

func TestTimetableLen(t *testing.T) {
	start := time.Unix(1000, 0)
	tests := []struct {
		rate float64
		d    time.Duration
		want int64
	}{
		{500, time.Second, 500},
		{2000, 10 * time.Second, 20000},
		{3, 1500 * time.Millisecond, 4},
		{0.5, time.Second, 0},
		{1000, 0, 0},
	}
	for _, tt := range tests {
		if got := NewTimetable(start, tt.rate, tt.d).Len(); got != tt.want {
			t.Errorf("rate %v for %v: Len = %d, want %d", tt.rate, tt.d, got, tt.want)
		}
	}
}

func TestTimetableEvenSpacingWithoutDrift(t *testing.T) {
	start := time.Unix(1000, 0)
	tt := NewTimetable(start, 3000, 10*time.Second) // 333,333.3 ns apart
	if got, want := tt.At(0), start; !got.Equal(want) {
		t.Errorf("At(0) = %v, want %v", got, want)
	}
	if got, want := tt.At(29999), start.Add(9999666667); !got.Equal(want) {
		t.Errorf("At(29999) = %v, want %v (no drift)", got.Sub(start), want.Sub(start))
	}
	for i := int64(1); i < tt.Len(); i++ {
		gap := tt.At(i).Sub(tt.At(i - 1))
		if gap < 333333 || gap > 333334 {
			t.Fatalf("gap before %d = %v", i, gap)
		}
	}
}

func TestTimetableDueHandsOutEachOnceInOrder(t *testing.T) {
	start := time.Unix(1000, 0)
	tt := NewTimetable(start, 1000, 100*time.Millisecond) // 100 requests, 1 ms apart
	var got []time.Time
	// Wake up irregularly, including once very late (a backlog) and once
	// before anything new is due.
	for _, ms := range []float64{-1, 0, 0.5, 3.2, 3.2, 50.7, 51, 99, 150} {
		now := start.Add(time.Duration(ms * float64(time.Millisecond)))
		before := len(got)
		got = tt.Due(now, got)
		for _, at := range got[before:] {
			if at.After(now) {
				t.Fatalf("handed out %v before it was due (now %v)", at.Sub(start), now.Sub(start))
			}
		}
		if next, ok := tt.Next(); ok && !next.After(now) {
			t.Fatalf("request due at %v left behind at %v", next.Sub(start), now.Sub(start))
		}
	}
	if len(got) != 100 {
		t.Fatalf("handed out %d, want 100", len(got))
	}
	for i, at := range got {
		if want := start.Add(time.Duration(i) * time.Millisecond); !at.Equal(want) {
			t.Fatalf("request %d due %v, want %v", i, at.Sub(start), want.Sub(start))
		}
	}
	if _, ok := tt.Next(); ok {
		t.Error("Next should report the table exhausted")
	}
	if more := tt.Due(start.Add(time.Hour), nil); len(more) != 0 {
		t.Errorf("exhausted table handed out %d more", len(more))
	}
}
