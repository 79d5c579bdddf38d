package loadgen

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/fulcrumhq/fulcrum/bench/internal/hist"
)

// Quantiles summarise a histogram in milliseconds.
type Quantiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// QuantilesOf summarises h (nanoseconds) in milliseconds.
func QuantilesOf(h *hist.Histogram) Quantiles {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return Quantiles{
		P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(h.Max()), Mean: h.Mean() / 1e6,
	}
}

// Record is one run as one JSON line: what was run, against what, and what
// it measured. The report reads these.
type Record struct {
	Time     string  `json:"time"`
	Target   string  `json:"target"`   // direct, refproxy, fulcrum, fulcrum-off, portkey ...
	Scenario string  `json:"scenario"` // closed32, open500, open2000, streams1000 ...
	Rep      int     `json:"rep"`
	Mode     string  `json:"mode"` // closed or open
	Stream   bool    `json:"stream"`
	Conns    int     `json:"conns,omitempty"`
	Rate     float64 `json:"rate,omitempty"`

	DurationS float64 `json:"duration_s"`
	ElapsedS  float64 `json:"elapsed_s"`
	Requests  int64   `json:"requests"`
	OK        int64   `json:"ok"`
	Errors    Errors  `json:"errors"`
	ErrorsAll int64   `json:"errors_total"`
	RPS       float64 `json:"rps"`

	Latency         Quantiles  `json:"latency_ms"`
	TTFT            *Quantiles `json:"ttft_ms,omitempty"`
	EventsPerStream float64    `json:"events_per_stream,omitempty"`
	// SendLate (open loop): how late requests were started against the
	// timetable (see Result.SendLate).
	SendLate *Quantiles `json:"send_late_ms,omitempty"`
	// Workers is how many request goroutines the run started.
	Workers int `json:"workers,omitempty"`
	// Harness is the load generator process's own runtime during the run.
	Harness *Harness `json:"harness,omitempty"`
	// Machine is the whole machine's CPU during the run (/proc/stat), and
	// Sched the target process's scheduling, when its pid was given.
	Machine *Machine `json:"machine,omitempty"`
	Sched   *Sched   `json:"sched,omitempty"`
	// TargetGo holds figures from the target's Prometheus metrics, when
	// their URL was given.
	TargetGo *TargetGo `json:"target_go,omitempty"`

	// Target process figures, when its pid was given.
	PID         int     `json:"pid,omitempty"`
	CPUSeconds  float64 `json:"cpu_s,omitempty"`
	CPUPerReqUS float64 `json:"cpu_us_per_req,omitempty"`
	RSSPeakKB   int64   `json:"rss_peak_kb,omitempty"`
	RSSKB       int64   `json:"rss_kb,omitempty"`
	// RSSAnonPeakKB is the largest anonymous resident memory (RssAnon:
	// heap, stacks, buffers) sampled during the run; RSSFileKB the
	// file-backed part (RssFile: the executable's pages) at its end.
	RSSAnonPeakKB int64 `json:"rss_anon_peak_kb,omitempty"`
	RSSFileKB     int64 `json:"rss_file_kb,omitempty"`
}

// NewRecord summarises r for cfg.
func NewRecord(cfg Config, r *Result, now time.Time) Record {
	cfg.defaults()
	rec := Record{
		Time:      now.UTC().Format(time.RFC3339),
		Stream:    cfg.Stream,
		DurationS: cfg.Duration.Seconds(),
		ElapsedS:  r.Elapsed.Seconds(),
		Requests:  r.Requests,
		OK:        r.OK,
		Errors:    r.Errors,
		ErrorsAll: r.Errors.Total(),
		RPS:       r.RPS(),
		Latency:   QuantilesOf(r.Latency),
		Workers:   r.Workers,
	}
	if cfg.Rate > 0 {
		rec.Mode, rec.Rate = "open", cfg.Rate
	} else {
		rec.Mode, rec.Conns = "closed", cfg.Conns
	}
	if cfg.Rate > 0 && r.SendLate != nil {
		q := QuantilesOf(r.SendLate)
		rec.SendLate = &q
	}
	if cfg.Stream {
		q := QuantilesOf(r.TTFT)
		rec.TTFT = &q
		if r.OK > 0 {
			rec.EventsPerStream = float64(r.Events) / float64(r.OK)
		}
	}
	return rec
}

// WriteTable writes rec as a short human-readable block.
func (rec Record) WriteTable(w io.Writer) {
	load := fmt.Sprintf("closed loop, %d conns", rec.Conns)
	if rec.Mode == "open" {
		load = fmt.Sprintf("open loop, %s req/s", strconv.FormatFloat(rec.Rate, 'f', -1, 64))
	}
	kind := "non-streaming"
	if rec.Stream {
		kind = "streaming"
	}
	fmt.Fprintf(w, "%s %s rep %d: %s, %s, %.1fs\n", rec.Target, rec.Scenario, rec.Rep, kind, load, rec.DurationS)
	fmt.Fprintf(w, "  requests %d  ok %d  errors %d (status %d, transport %d, cut %d, incomplete %d)  throughput %.0f req/s\n",
		rec.Requests, rec.OK, rec.ErrorsAll, rec.Errors.Status, rec.Errors.Transport, rec.Errors.Cut, rec.Errors.Incomplete, rec.RPS)
	fmt.Fprintf(w, "  %-8s %9s %9s %9s %9s %9s %9s\n", "ms", "p50", "p90", "p99", "p99.9", "max", "mean")
	row := func(name string, q Quantiles) {
		fmt.Fprintf(w, "  %-8s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", name, q.P50, q.P90, q.P99, q.P999, q.Max, q.Mean)
	}
	row("latency", rec.Latency)
	if rec.TTFT != nil {
		row("ttft", *rec.TTFT)
		fmt.Fprintf(w, "  events per stream %.1f\n", rec.EventsPerStream)
	}
	if rec.PID != 0 {
		fmt.Fprintf(w, "  target pid %d: cpu %.2fs (%.1f µs/req)  rss %.1f MB  peak rss %.1f MB\n",
			rec.PID, rec.CPUSeconds, rec.CPUPerReqUS, float64(rec.RSSKB)/1024, float64(rec.RSSPeakKB)/1024)
	}
}

// Line is a one-line summary of rec.
func (rec Record) Line() string {
	s := fmt.Sprintf("%-11s %-12s %-13s rep %d: %7.0f req/s  p50 %7.3f ms  p99 %8.3f ms",
		rec.Target, rec.Scenario, map[bool]string{false: "non-streaming", true: "streaming"}[rec.Stream], rec.Rep,
		rec.RPS, rec.Latency.P50, rec.Latency.P99)
	if rec.TTFT != nil {
		s += fmt.Sprintf("  ttft p50 %7.3f ms", rec.TTFT.P50)
	}
	if rec.PID != 0 {
		s += fmt.Sprintf("  cpu %6.1f µs/req  peak rss %5.1f MB", rec.CPUPerReqUS, float64(rec.RSSPeakKB)/1024)
	}
	if rec.ErrorsAll > 0 {
		s += fmt.Sprintf("  ERRORS %d (status %d, transport %d, cut %d, incomplete %d)",
			rec.ErrorsAll, rec.Errors.Status, rec.Errors.Transport, rec.Errors.Cut, rec.Errors.Incomplete)
	}
	return s
}

// Body is the harness's request: a short chat with one system and one user
// message (about 300 bytes), streaming with usage when stream is true.
func Body(model string, stream bool) []byte {
	b := fmt.Appendf(nil, `{"model":%q,"messages":[`+
		`{"role":"system","content":"You are a concise assistant. Answer in one short sentence."},`+
		`{"role":"user","content":"Write one short sentence that greets the reader and mentions the weather in Lisbon today, without any numbers."}],`+
		`"max_tokens":64,"temperature":0`, model)
	if stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(b, '}')
}
