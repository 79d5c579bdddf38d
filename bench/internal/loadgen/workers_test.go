package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestOpenLoopWorkersOnDemand: an open-loop run starts workers as
// requests overlap, not MaxInFlight of them up front, and still reaches
// the concurrency a slow target needs; the send lateness it reports is
// the wait for a free worker when all are busy.
func TestOpenLoopWorkersOnDemand(t *testing.T) {
	var delay time.Duration
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(delay)
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	run := func(d time.Duration, maxInFlight int) *Result {
		delay = d
		r, err := Run(context.Background(), Config{URL: srv.URL, Body: []byte(`{}`), Rate: 400,
			Duration: 500 * time.Millisecond, MaxInFlight: maxInFlight})
		if err != nil {
			t.Fatal(err)
		}
		if r.OK != 200 || r.Errors.Total() != 0 || r.SendLate.Count() != 200 {
			t.Fatalf("delay %v: ok %d, errors %+v, lateness counted %d; want 200, none, 200", d, r.OK, r.Errors, r.SendLate.Count())
		}
		return r
	}
	// Timings are loose: a loaded machine (or -race) makes requests
	// overlap more; what matters is that it is not all 512 up front.
	if r := run(0, 512); r.Workers < openStartWorkers || r.Workers > 128 {
		t.Errorf("a fast target: %d workers, want %d to a few dozen", r.Workers, openStartWorkers)
	}
	// 400/s for 50 ms each: about 20 in flight.
	if r := run(50*time.Millisecond, 512); r.Workers < 20 || r.Workers > 200 {
		t.Errorf("50 ms a request at 400/s: %d workers, want 20 to well under 512", r.Workers)
	}
	// With 4 workers for 20 needed, requests wait for one: late by far
	// more than a scheduling delay.
	if r := run(50*time.Millisecond, 4); r.Workers != 4 || r.SendLate.Quantile(0.99) < int64(100*time.Millisecond) {
		t.Errorf("max 4 in flight: %d workers, lateness p99 %v", r.Workers, time.Duration(r.SendLate.Quantile(0.99)))
	}
}
