package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// RequestRegion is the region the gateway's flight recorder opens around
// each request.
const RequestRegion = "http request"

// stint is one interval of a goroutine in one state.
type stint struct {
	state      string // Running, Runnable, Syscall, "Waiting (reason)"
	start, end trace.Time
	stack      string     // a few frames where it entered the state
	wokenBy    trace.GoID // for a waiting stint: the goroutine that ended it
}

type request struct {
	g          trace.GoID
	start, end trace.Time
}

type span struct {
	name       string
	start, end trace.Time
}

// Analysis is what one trace says about its slow requests.
type Analysis struct {
	Span      time.Duration // first to last event
	Requests  int           // request regions that ended in the trace
	Durations []time.Duration
	// STW lists stop-the-world pauses over 0.5 ms.
	STW      []string
	STWTotal time.Duration
	// Slow requests, their summed time, and that time by what it was
	// made of (see Breakdown's keys).
	Slow      int
	SlowTotal time.Duration
	Breakdown map[string]time.Duration
	// MarkShare is the share of the trace covered by GC mark phases;
	// SlowInMark how many slow requests overlapped one.
	MarkShare  float64
	SlowInMark int
	Details    []string
}

// Analyse reads a trace and dissects its requests longer than slow.
func Analyse(r io.Reader, slow time.Duration) (*Analysis, error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return nil, err
	}
	cur := map[trace.GoID]*stint{}
	hist := map[trace.GoID][]stint{}
	open := map[trace.GoID]trace.Time{}
	openRange := map[string]trace.Time{}
	var reqs []request
	var ranges []span
	var first, last trace.Time
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		t := ev.Time()
		if first == 0 {
			first = t
		}
		last = t
		switch ev.Kind() {
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			g := st.Resource.Goroutine()
			from, to := st.Goroutine()
			if c := cur[g]; c != nil {
				c.end = t
				if from == trace.GoWaiting {
					c.wokenBy = ev.Goroutine()
				}
				hist[g] = append(hist[g], *c)
			}
			name := to.String()
			if to == trace.GoWaiting {
				name += " (" + st.Reason + ")"
			}
			cur[g] = &stint{state: name, start: t, stack: frames(st.Stack, 8)}
		case trace.EventRegionBegin:
			if ev.Region().Type == RequestRegion {
				open[ev.Goroutine()] = t
			}
		case trace.EventRegionEnd:
			if s, ok := open[ev.Goroutine()]; ok && ev.Region().Type == RequestRegion {
				reqs = append(reqs, request{ev.Goroutine(), s, t})
				delete(open, ev.Goroutine())
			}
		case trace.EventRangeBegin:
			openRange[ev.Range().Name] = t
		case trace.EventRangeEnd:
			n := ev.Range().Name
			if s, ok := openRange[n]; ok {
				ranges = append(ranges, span{n, s, t})
				delete(openRange, n)
			}
		}
	}
	for g, c := range cur {
		c.end = last
		hist[g] = append(hist[g], *c)
	}
	a := &Analysis{Span: time.Duration(last - first), Requests: len(reqs), Breakdown: map[string]time.Duration{}}
	var mark time.Duration
	for _, x := range ranges {
		d := time.Duration(x.end - x.start)
		switch {
		case strings.HasPrefix(x.name, "stop-the-world"):
			a.STWTotal += d
			if d > 500*time.Microsecond {
				a.STW = append(a.STW, fmt.Sprintf("%s %.1f ms at -%.0f ms", x.name, ms(d), ms(time.Duration(last-x.end))))
			}
		case x.name == "GC concurrent mark phase":
			mark += d
		}
	}
	if a.Span > 0 {
		a.MarkShare = float64(mark) / float64(a.Span)
	}
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].end-reqs[i].start > reqs[j].end-reqs[j].start })
	for _, q := range reqs {
		a.Durations = append(a.Durations, time.Duration(q.end-q.start))
	}
	for _, q := range reqs {
		d := time.Duration(q.end - q.start)
		if d < slow {
			break
		}
		a.Slow++
		a.SlowTotal += d
		for _, x := range ranges {
			if x.name == "GC concurrent mark phase" && min(x.end, q.end) > max(x.start, q.start) {
				a.SlowInMark++
				break
			}
		}
		by := map[string]time.Duration{}
		for _, x := range hist[q.g] {
			lo, hi := max(x.start, q.start), min(x.end, q.end)
			if hi <= lo {
				continue
			}
			if strings.HasPrefix(x.state, "Waiting") && strings.Contains(x.stack, "persistConn).roundTrip") && x.wokenBy > 0 {
				// Waiting for the upstream's answer: charge the time to
				// what the goroutine that delivered it was doing.
				for _, y := range hist[x.wokenBy] {
					l2, h2 := max(y.start, lo), min(y.end, hi)
					if h2 > l2 {
						by["upstream answer: reader "+y.state] += time.Duration(h2 - l2)
					}
				}
				continue
			}
			k := x.state
			switch {
			case strings.HasPrefix(k, "Waiting (sync"):
				// Which lock: the runtime's (a GC starting) or ours.
				k += " " + lockSite(x.stack)
			case strings.HasPrefix(k, "Waiting (chan"), strings.HasPrefix(k, "Waiting (select"):
				// Which channel: the upstream call's (a connection
				// being dialled or handed over), the handler's own.
				k += " " + lockSite(x.stack)
			case k == "Syscall":
				// Which call: a socket, the journal, SQLite.
				k += " " + syscallSite(x.stack)
			}
			by[k] += time.Duration(hi - lo)
		}
		for k, v := range by {
			a.Breakdown[k] += v
		}
		if len(a.Details) < 10 {
			a.Details = append(a.Details, fmt.Sprintf("%.1f ms ending -%.0f ms: %s", ms(d), ms(time.Duration(last-q.end)), summary(by)))
		}
	}
	return a, nil
}

// Write prints a as text, with the detail slowest requests one by one.
func (a *Analysis) Write(w io.Writer, detail int) {
	fmt.Fprintf(w, "   %.0f ms of trace, %d requests", ms(a.Span), a.Requests)
	if n := len(a.Durations); n > 0 {
		q := func(p float64) float64 { return ms(a.Durations[int(float64(n-1)*(1-p))]) }
		fmt.Fprintf(w, ": p50 %.2f, p99 %.2f, p99.9 %.2f, max %.2f ms", q(0.5), q(0.99), q(0.999), ms(a.Durations[0]))
	}
	fmt.Fprintf(w, "\n   stop-the-world %.1f ms in all; over 0.5 ms: %s\n", ms(a.STWTotal), strings.Join(a.STW, "; "))
	if a.Slow == 0 {
		fmt.Fprintln(w, "   no slow request")
		return
	}
	fmt.Fprintf(w, "   %d slow requests, %.1f ms in all; GC mark phases cover %.0f%% of the trace and overlap %d of them (%.0f%%)\n",
		a.Slow, ms(a.SlowTotal), 100*a.MarkShare, a.SlowInMark, 100*float64(a.SlowInMark)/float64(a.Slow))
	keys := make([]string, 0, len(a.Breakdown))
	for k := range a.Breakdown {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return a.Breakdown[keys[i]] > a.Breakdown[keys[j]] })
	var sum time.Duration
	for _, k := range keys {
		sum += a.Breakdown[k]
		fmt.Fprintf(w, "      %-58s %8.1f ms %4.0f%%\n", k, ms(a.Breakdown[k]), 100*float64(a.Breakdown[k])/float64(a.SlowTotal))
	}
	if rest := a.SlowTotal - sum; rest > 0 {
		// Waits whose waker's states the snapshot does not cover (it
		// began before the window), or no state event at all.
		fmt.Fprintf(w, "      %-58s %8.1f ms %4.0f%%\n", "(not attributed)", ms(rest), 100*float64(rest)/float64(a.SlowTotal))
	}
	for i := 0; i < detail && i < len(a.Details); i++ {
		fmt.Fprintf(w, "   slowest %d: %s\n", i+1, a.Details[i])
	}
}

func summary(by map[string]time.Duration) string {
	var parts []string
	for k, v := range by {
		if v >= 100*time.Microsecond {
			parts = append(parts, fmt.Sprintf("%s %.1f", k, ms(v)))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// lockSite is the first frame of a stack outside sync and the runtime's
// lock helpers, or the runtime function that blocked (gcStart: a request
// goroutine that had to wait for a garbage collection to start).
func lockSite(stack string) string {
	fs := strings.Split(stack, " < ")
	for _, f := range fs {
		if strings.HasPrefix(f, "runtime.gc") || strings.HasPrefix(f, "runtime.stopTheWorld") {
			return "in " + f
		}
	}
	for _, f := range fs {
		if !strings.HasPrefix(f, "sync.") && !strings.HasPrefix(f, "runtime.") && !strings.HasPrefix(f, "internal/sync.") {
			return "in " + f
		}
	}
	return ""
}

// syscallSite names a system call by the first frame above the
// syscall, poll and os plumbing (net.(*conn).Write, os.(*File).Write,
// a SQLite function ...).
func syscallSite(stack string) string {
	fs := strings.Split(stack, " < ")
	for i, f := range fs {
		switch {
		case strings.HasPrefix(f, "syscall."), strings.HasPrefix(f, "poll."), strings.HasPrefix(f, "runtime."),
			strings.HasPrefix(f, "unix."), strings.HasPrefix(f, "os.(*File).write"), strings.HasPrefix(f, "os.(*File).read"),
			strings.HasPrefix(f, "net.(*netFD)"), strings.HasPrefix(f, "libc."):
			continue
		}
		if strings.HasPrefix(f, "os.(*File)") && i+1 < len(fs) {
			return "in " + f + " < " + fs[i+1] // whose file
		}
		return "in " + f
	}
	return ""
}

func frames(st trace.Stack, n int) string {
	var b []string
	for f := range st.Frames() {
		fn := f.Func
		if i := strings.LastIndex(fn, "/"); i >= 0 {
			fn = fn[i+1:]
		}
		if b = append(b, fn); len(b) == n {
			break
		}
	}
	return strings.Join(b, " < ")
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
