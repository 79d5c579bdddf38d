package app

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

func TestFlightRecorderOffByDefault(t *testing.T) {
	dir := t.TempDir()
	f, err := newFlightRecorder(config.FlightRecorder{}, dir, slog.New(slog.DiscardHandler))
	if err != nil || f != nil {
		t.Fatalf("off by default: got %v, %v", f, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "flight")); !os.IsNotExist(err) {
		t.Errorf("the snapshot directory was made while off: %v", err)
	}
	// With it off the gateway's handler is served as it is: nothing
	// times requests or traces.
	g := &Gateway{Config: &config.Config{}, log: slog.New(slog.DiscardHandler)}
	if err := g.wireFlight(); err != nil || g.flight != nil || len(g.closers) != 0 || len(g.collectors) != 0 {
		t.Errorf("wireFlight off: flight %v, err %v, %d closers, %d collectors", g.flight, err, len(g.closers), len(g.collectors))
	}
}

// TestFlightRecorderSnapshot: a slow request writes exactly one snapshot,
// the execution trace parses, fast requests write none, the minimum
// interval holds and the count is bounded.
func TestFlightRecorderSnapshot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snaps")
	f, err := newFlightRecorder(config.FlightRecorder{
		Enabled: true, SlowRequest: config.Duration(20 * time.Millisecond), Dir: dir,
		MaxSnapshots: 2, MinInterval: config.Duration(time.Hour),
	}, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	clock := time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)
	f.now = func() time.Time { return clock }
	h := f.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(30 * time.Millisecond)
		}
		w.Write([]byte("ok"))
	}))
	get := func(path string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{"messages":"secret prompt"}`)))
		if rec.Body.String() != "ok" {
			t.Fatalf("%s: body %q", path, rec.Body.String())
		}
	}
	snaps := func() []string {
		f.wg.Wait()
		m, err := filepath.Glob(filepath.Join(dir, "flight-*.trace"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	for range 20 {
		get("/fast")
	}
	if s := snaps(); len(s) != 0 {
		t.Fatalf("fast requests wrote snapshots: %v", s)
	}
	get("/slow")
	get("/slow") // within min_interval: counted, no second file
	s := snaps()
	if len(s) != 1 {
		t.Fatalf("two slow requests within the interval: %d snapshots %v, want 1", len(s), s)
	}
	if got := f.slowSeen.Load(); got != 2 {
		t.Errorf("slow requests counted %d, want 2", got)
	}
	parseTrace(t, s[0])

	// After the interval one more, then max_snapshots (2) stops them.
	for range 3 {
		clock = clock.Add(2 * time.Hour)
		get("/slow")
	}
	if s := snaps(); len(s) != 2 {
		t.Errorf("max_snapshots 2: %d snapshots %v", len(s), s)
	}
}

// parseTrace checks that path is a Go execution trace that `go tool
// trace` parses, with the scheduling events a tail analysis reads.
func parseTrace(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("go 1.")) || !bytes.Contains(b[:16], []byte(" trace")) {
		t.Fatalf("%s does not start with a trace header: %q", path, b[:min(len(b), 16)])
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Logf("no go command on PATH (%v): checked the header only", err)
		return
	}
	out, err := exec.Command(gobin, "tool", "trace", "-d=parsed", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool trace -d=parsed %s: %v\n%.2000s", path, err, out)
	}
	for _, want := range []string{"StateTransition", "GoID=", `Type="http request"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("parsed trace has no %s events:\n%.2000s", want, out)
		}
	}
	if bytes.Contains(out, []byte("secret prompt")) {
		t.Error("the trace holds the request body")
	}
}
