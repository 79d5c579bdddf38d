package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/bench/internal/loadgen"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want.md")

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := Median(tt.in); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// rec builds a record with the figures the report reads.
func rec(target, scenario string, stream bool, rps, p50, p99 float64, rssKB int64) loadgen.Record {
	r := loadgen.Record{
		Target: target, Scenario: scenario, Stream: stream, RPS: rps, Requests: int64(rps),
		Latency:   loadgen.Quantiles{P50: p50, P90: p50 * 2, P99: p99, P999: p99 * 2},
		RSSPeakKB: rssKB,
	}
	switch {
	case strings.HasPrefix(scenario, "open"):
		r.Mode, r.Rate = "open", map[string]float64{"open500": 500, "open2000": 2000}[scenario]
	case scenario == "streams1000":
		r.Mode, r.Conns = "closed", 1000
	default:
		r.Mode, r.Conns = "closed", 32
	}
	if stream {
		r.TTFT = &loadgen.Quantiles{P50: p50 / 2, P99: p99 / 2}
	}
	if rssKB > 0 {
		r.PID, r.CPUPerReqUS = 42, 1e6/rps
		// A third of it anonymous, the rest the executable's pages.
		r.RSSAnonPeakKB, r.RSSFileKB = rssKB/3, rssKB-rssKB/3
	}
	return r
}

func TestAggregateTakesMediansPerFigure(t *testing.T) {
	recs := []loadgen.Record{
		rec("direct", "closed32", false, 20000, 1.0, 9.0, 0),
		rec("direct", "closed32", false, 18000, 3.0, 2.0, 0),
		rec("direct", "closed32", false, 22000, 2.0, 4.0, 0),
	}
	recs[1].ErrorsAll = 2
	got := Aggregate(recs)[Key{"direct", "closed32", false}]
	want := Cell{Reps: 3, Mode: "closed", Conns: 32, RPS: 20000, P50: 2, P90: 4, P99: 4, P999: 8, Requests: 60000, Errors: 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cell (-want +got):\n%s", diff)
	}
}

func TestGoals(t *testing.T) {
	recs := []loadgen.Record{
		rec("direct", "closed32", false, 20000, 1, 2, 0),
		rec("fulcrum", "closed32", false, 9000, 2, 3, 30<<10),
		rec("fulcrum-off", "closed32", false, 10000, 2, 3, 28<<10),
		rec("direct", "open500", false, 500, 0.50, 1.0, 0),
		rec("fulcrum", "open500", false, 500, 0.60, 2.5, 31<<10),
		rec("fulcrum", "streams1000", true, 900, 1000, 1100, 120<<10),
	}
	cells := Aggregate(recs)
	tests := []struct {
		goal   int
		target string
		want   float64
		ok     bool
		met    bool
	}{
		{0, "fulcrum", 45, true, true},
		{1, "fulcrum", 0, false, false}, // no streaming runs
		{2, "fulcrum", 0.10, true, true},
		{3, "fulcrum", 1.5, true, false},
		{4, "fulcrum", 31, true, true}, // streams1000 excluded
		{5, "fulcrum", 120, true, false},
		{6, "fulcrum", 90, true, true},
		{6, "fulcrum-off", 0, false, false},
	}
	for _, tt := range tests {
		g := goals[tt.goal]
		got, ok := g.value(cells, tt.target)
		if ok != tt.ok || (ok && (abs(got-tt.want) > 1e-9 || g.met(got) != tt.met)) {
			t.Errorf("%s for %s = %v, %v (met %v); want %v, %v (met %v)", g.name, tt.target, got, ok, g.met(got), tt.want, tt.ok, tt.met)
		}
	}
}

func abs(v float64) float64 { return max(v, -v) }

// TestWriteGolden renders a small run set and compares it with
// testdata/report.want.md (go test -update rewrites it).
func TestWriteGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "report.in.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := Read(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	Write(&got, Aggregate(recs))
	path := filepath.Join("testdata", "report.want.md")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

func TestReadRejectsBadLine(t *testing.T) {
	if _, err := Read(strings.NewReader("{\"target\":\"x\"}\n\nnot json\n")); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("err = %v, want one naming line 3", err)
	}
}

func TestProxyGoals(t *testing.T) {
	recs := []loadgen.Record{
		rec("refproxy", "closed32", false, 10000, 1, 2, 14<<10),
		rec("fulcrum", "closed32", false, 8000, 2, 3, 30<<10),
		rec("refproxy", "open500", false, 500, 0.50, 1.0, 14<<10),
		rec("fulcrum", "open500", false, 500, 0.53, 2.5, 31<<10),
		rec("refproxy", "streams1000", true, 900, 1000, 1100, 140<<10),
		rec("fulcrum", "streams1000", true, 900, 1000, 1100, 130<<10),
	}
	cells := Aggregate(recs)
	tests := []struct {
		goal int
		want float64
		ok   bool
		met  bool
	}{
		{0, 80, true, false},   // 8,000 of 10,000 req/s
		{1, 0, false, false},   // no streaming closed loop
		{2, 1.25, true, false}, // rec's CPU is 1e6/rps µs: 125 over 100
		{4, 0.03, true, true},  // 0.53 - 0.50 ms
		{5, 31, true, true},
		{6, -10, true, true}, // 130 - 140 MB
	}
	for _, tt := range tests {
		g := proxyGoals[tt.goal]
		got, ok := g.value(cells, "fulcrum")
		if ok != tt.ok || (ok && (abs(got-tt.want) > 1e-9 || g.met(got) != tt.met)) {
			t.Errorf("%s = %v, %v (met %v); want %v, %v (met %v)", g.name, got, ok, g.met(got), tt.want, tt.ok, tt.met)
		}
	}
}
