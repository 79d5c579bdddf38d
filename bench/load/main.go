// Command load is the harness's load generator: one run, closed loop at
// -conns connections or open loop at -rate requests/s, against an
// OpenAI-compatible chat endpoint. It prints a human-readable summary on
// stderr and one JSON line on stdout (and appends it to -out).
//
//	load -url http://127.0.0.1:18080/v1/chat/completions -conns 32 -duration 10s
//	load -url ... -rate 500 -stream -pid 1234 -target fulcrum -scenario open500 -out runs.jsonl
//	load -url ... -probe 10s    # wait until one request succeeds (exit 1 if none does)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fulcrumhq/fulcrum/bench/internal/loadgen"
	"github.com/fulcrumhq/fulcrum/bench/internal/proc"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		cfg   loadgen.Config
		hdrs  headers
		model = flag.String("model", "bench-model", "model name in the request body")
		key   = flag.String("api-key", "sk-bench", "sent as Authorization: Bearer KEY (empty: no header)")
		bodyF = flag.String("body-file", "", "request body file (default: the built-in ~300-byte chat)")
		pid   = flag.Int("pid", 0, "target process: report its CPU time per request, RSS and scheduling (run delay, context switches), and the machine's CPU and steal")
		promU = flag.String("metrics", "", "target's Prometheus /metrics URL: report its GC, record commits and slow requests over the run")
		out   = flag.String("out", "", "append the JSON line to this file")
		probe = flag.Duration("probe", 0, "only wait up to this long for one successful request")
		quiet = flag.Bool("q", false, "no human-readable summary")
		brief = flag.Bool("brief", false, "one-line human-readable summary")
		ports = flag.Int("free-ports", 0, "print this many distinct free TCP ports on 127.0.0.1 and exit (run.sh picks its ports so)")
		rec   loadgen.Record
	)
	flag.StringVar(&cfg.URL, "url", "http://127.0.0.1:18081/v1/chat/completions", "endpoint")
	flag.BoolVar(&cfg.Stream, "stream", false, "streaming requests (SSE), with time to first token")
	flag.IntVar(&cfg.Conns, "conns", 32, "closed loop: connections")
	flag.Float64Var(&cfg.Rate, "rate", 0, "open loop at this many requests/s (0: closed loop)")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured duration")
	flag.DurationVar(&cfg.Warmup, "warmup", time.Second, "unrecorded warm-up with the same load")
	flag.IntVar(&cfg.MaxInFlight, "max-inflight", 512, "open loop: most concurrent requests")
	flag.DurationVar(&cfg.Grace, "grace", 5*time.Second, "time for requests running at the end before they count as incomplete")
	flag.Var(&hdrs, "H", "extra request header 'Name: value' (repeatable)")
	flag.StringVar(&rec.Target, "target", "", "label: what is measured (direct, refproxy, fulcrum ...)")
	flag.StringVar(&rec.Scenario, "scenario", "", "label: scenario name (closed32, open500 ...)")
	flag.IntVar(&rec.Rep, "rep", 1, "label: repetition number")
	flag.Parse()
	if *ports > 0 {
		return freePorts(os.Stdout, *ports)
	}

	cfg.Header = http.Header{"Content-Type": {"application/json"}}
	if *key != "" {
		cfg.Header.Set("Authorization", "Bearer "+*key)
	}
	for _, h := range hdrs {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return fmt.Errorf("bad -H %q: want 'Name: value'", h)
		}
		cfg.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	cfg.Body = loadgen.Body(*model, cfg.Stream)
	if *bodyF != "" {
		b, err := os.ReadFile(*bodyF)
		if err != nil {
			return err
		}
		cfg.Body = b
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *probe > 0 {
		return probeOnce(ctx, cfg, *probe)
	}

	var cpu0 float64
	if *pid > 0 {
		// Warm up first, so the CPU window covers only the measured run.
		if cfg.Warmup > 0 {
			w := cfg
			w.Duration, w.Warmup = cfg.Warmup, 0
			if _, err := loadgen.Run(ctx, w); err != nil {
				return err
			}
			cfg.Warmup = 0
		}
		var err error
		if cpu0, err = proc.CPU(*pid); err != nil {
			return err
		}
	}
	var anonPeak func() int64
	var sched0 proc.Sched
	var mach0 proc.MachineCPU
	if *pid > 0 {
		anonPeak = sampleAnon(*pid, 50*time.Millisecond)
		sched0, _ = proc.ReadSched(*pid)
		mach0, _ = proc.ReadMachineCPU()
	}
	var prom0 map[string]float64
	if *promU != "" {
		prom0 = scrape(*promU)
	}
	rt0, t0 := loadgen.ReadRuntime(), time.Now()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	r := loadgen.NewRecord(cfg, res, time.Now())
	r.Target, r.Scenario, r.Rep = rec.Target, rec.Scenario, rec.Rep
	r.Harness = loadgen.HarnessSince(rt0)
	wall := time.Since(t0)
	if prom0 != nil {
		if prom1 := scrape(*promU); prom1 != nil {
			r.TargetGo = loadgen.TargetGoDelta(prom0, prom1)
		}
	}
	if *pid > 0 {
		if s1, err := proc.ReadSched(*pid); err == nil {
			d := s1.Sub(sched0)
			r.Sched = &loadgen.Sched{RunDelayMs: float64(d.RunDelayNS) / 1e6, RunDelayPct: float64(d.RunDelayNS) / float64(wall) * 100,
				Voluntary: d.Voluntary, Involuntary: d.Involuntary}
		}
		if m1, err := proc.ReadMachineCPU(); err == nil {
			d := m1.Sub(mach0)
			if tot := float64(d.Total()); tot > 0 {
				r.Machine = &loadgen.Machine{BusyPct: float64(d.Total()-d.Idle-d.IOWait) / tot * 100,
					StealPct: float64(d.Steal) / tot * 100, IOWaitPct: float64(d.IOWait) / tot * 100}
			}
		}
	}
	if *pid > 0 {
		cpu1, err := proc.CPU(*pid)
		if err != nil {
			return err
		}
		mem, err := proc.Mem(*pid)
		if err != nil {
			return err
		}
		r.PID, r.CPUSeconds, r.RSSPeakKB, r.RSSKB = *pid, cpu1-cpu0, mem.PeakKB, mem.RSSKB
		r.RSSAnonPeakKB, r.RSSFileKB = max(anonPeak(), mem.AnonKB), mem.FileKB
		if res.Requests > 0 {
			r.CPUPerReqUS = r.CPUSeconds / float64(res.Requests) * 1e6
		}
	}
	switch {
	case *quiet:
	case *brief:
		fmt.Fprintln(os.Stderr, r.Line())
	default:
		r.WriteTable(os.Stderr)
	}
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	os.Stdout.Write(line)
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(line); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}

// probeOnce sends one request every 100 ms until one succeeds (2xx, full
// body) or limit passes.
func probeOnce(ctx context.Context, cfg loadgen.Config, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(cfg.Body))
		if err != nil {
			return err
		}
		req.Header = cfg.Header
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr != nil:
				last = rerr
			case resp.StatusCode/100 != 2:
				last = fmt.Errorf("status %d: %.300s", resp.StatusCode, b)
			default:
				return nil
			}
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("probe %s: %w", cfg.URL, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// scrape reads a Prometheus text endpoint, or returns nil (the figures
// are then left out; a failed scrape must not fail a run).
func scrape(url string) map[string]float64 {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	return loadgen.ParseProm(b)
}

// freePorts prints n distinct ports the kernel has free on 127.0.0.1 now:
// all n listeners are open at once (so the ports differ), then closed for
// the caller to bind. Two harness runs so never share a fixed port.
func freePorts(w io.Writer, n int) error {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ps []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		ps = append(ps, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	_, err := fmt.Fprintln(w, strings.Join(ps, " "))
	return err
}

// sampleAnon reads pid's anonymous resident memory (RssAnon) every period
// until the returned function is called, which stops the sampling and
// returns the largest value seen. The kernel keeps a high-water mark only
// for the whole RSS (VmHWM), whose file-backed part is mostly the
// executable's clean pages; the anonymous part is what load makes grow.
func sampleAnon(pid int, period time.Duration) func() int64 {
	stop, done := make(chan struct{}), make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			if m, err := proc.Mem(pid); err == nil {
				peak = max(peak, m.AnonKB)
			}
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		return <-done
	}
}
