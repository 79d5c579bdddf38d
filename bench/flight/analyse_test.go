package main

import (
	"bytes"
	"context"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAnalyse traces a fast and a slow "request" (the slow one blocked on a
// mutex for 40 ms) and checks that the analysis finds both regions, counts
// the slow one and charges its time to the lock wait.
func TestAnalyse(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	request := func(work func()) {
		defer trace.StartRegion(context.Background(), RequestRegion).End()
		work()
	}
	request(func() {})
	var mu sync.Mutex
	mu.Lock()
	go func() { time.Sleep(40 * time.Millisecond); mu.Unlock() }()
	request(func() { mu.Lock(); mu.Unlock() })
	trace.Stop()

	a, err := Analyse(&buf, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if a.Requests != 2 || a.Slow != 1 {
		t.Fatalf("requests %d, slow %d; want 2 and 1", a.Requests, a.Slow)
	}
	if a.SlowTotal < 40*time.Millisecond {
		t.Errorf("slow request took %v, want >= 40ms", a.SlowTotal)
	}
	var wait time.Duration
	for k, v := range a.Breakdown {
		if strings.HasPrefix(k, "Waiting (sync") {
			wait += v
		}
	}
	if wait < 35*time.Millisecond {
		t.Errorf("lock wait %v of %v; breakdown %v", wait, a.SlowTotal, a.Breakdown)
	}
	var out bytes.Buffer
	a.Write(&out, 1)
	if !strings.Contains(out.String(), "1 slow requests") || !strings.Contains(out.String(), "slowest 1:") {
		t.Errorf("report:\n%s", out.String())
	}
}

// TestAnalyseChannelSite checks that a wait on a channel is charged to the
// function that waited, so that a slow request's channel and select waits
// say where they were.
func TestAnalyseChannelSite(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	go func() { time.Sleep(40 * time.Millisecond); close(ch) }()
	func() {
		defer trace.StartRegion(context.Background(), RequestRegion).End()
		waitForUpstream(ch)
	}()
	trace.Stop()

	a, err := Analyse(&buf, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var site time.Duration
	for k, v := range a.Breakdown {
		if strings.HasPrefix(k, "Waiting (chan receive) in ") && strings.Contains(k, "waitForUpstream") {
			site += v
		}
	}
	if site < 35*time.Millisecond {
		t.Errorf("channel wait in waitForUpstream %v of %v; breakdown %v", site, a.SlowTotal, a.Breakdown)
	}
}

//go:noinline
func waitForUpstream(ch chan struct{}) { <-ch }
