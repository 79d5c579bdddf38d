package proc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Sched is a process's scheduling as the kernel counts it, summed over its
// threads (each thread has its own counters; the process's own files count
// only its first thread).
type Sched struct {
	// RunDelayNS is the time threads were runnable but waiting for a CPU
	// (schedstat's second field): CPU contention and, on a VM, steal.
	RunDelayNS int64
	// Voluntary context switches: a thread blocked (I/O, futex, sleep).
	Voluntary int64
	// Involuntary ones: the kernel took the CPU away (time slice over, a
	// higher-priority task woke).
	Involuntary int64
}

// Sub is s minus o.
func (s Sched) Sub(o Sched) Sched {
	return Sched{s.RunDelayNS - o.RunDelayNS, s.Voluntary - o.Voluntary, s.Involuntary - o.Involuntary}
}

// ReadSched sums /proc/PID/task/*/schedstat and the context-switch lines
// of /proc/PID/task/*/status. Threads that exited are not counted (a Go
// program's threads rarely exit).
func ReadSched(pid int) (Sched, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil || len(tasks) == 0 {
		return Sched{}, fmt.Errorf("proc: sched: no tasks for pid %d", pid)
	}
	var s Sched
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(t, "schedstat"))
		if err != nil {
			continue // the thread exited meanwhile
		}
		if f := bytes.Fields(b); len(f) >= 2 {
			v, _ := strconv.ParseInt(string(f[1]), 10, 64)
			s.RunDelayNS += v
		}
		b, err = os.ReadFile(filepath.Join(t, "status"))
		if err != nil {
			continue
		}
		v, n := ParseStatusSwitches(b)
		s.Voluntary += v
		s.Involuntary += n
	}
	return s, nil
}

// ParseStatusSwitches reads voluntary_ctxt_switches and
// nonvoluntary_ctxt_switches from the text of /proc/PID/status.
func ParseStatusSwitches(b []byte) (voluntary, involuntary int64) {
	for line := range bytes.Lines(b) {
		var dst *int64
		switch {
		case bytes.HasPrefix(line, []byte("voluntary_ctxt_switches:")):
			dst = &voluntary
		case bytes.HasPrefix(line, []byte("nonvoluntary_ctxt_switches:")):
			dst = &involuntary
		default:
			continue
		}
		if f := bytes.Fields(line); len(f) == 2 {
			*dst, _ = strconv.ParseInt(string(f[1]), 10, 64)
		}
	}
	return voluntary, involuntary
}

// MachineCPU is the "cpu" line of /proc/stat, in clock ticks (USER_HZ)
// summed over all CPUs.
type MachineCPU struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal int64
}

// Total is every tick counted (guest time is already inside user).
func (c MachineCPU) Total() int64 {
	return c.User + c.Nice + c.System + c.Idle + c.IOWait + c.IRQ + c.SoftIRQ + c.Steal
}

// Sub is c minus o.
func (c MachineCPU) Sub(o MachineCPU) MachineCPU {
	return MachineCPU{c.User - o.User, c.Nice - o.Nice, c.System - o.System, c.Idle - o.Idle,
		c.IOWait - o.IOWait, c.IRQ - o.IRQ, c.SoftIRQ - o.SoftIRQ, c.Steal - o.Steal}
}

// ReadMachineCPU reads /proc/stat.
func ReadMachineCPU() (MachineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}, fmt.Errorf("proc: stat: %w", err)
	}
	return ParseProcStat(b)
}

// ParseProcStat reads the first line ("cpu  user nice system idle iowait
// irq softirq steal guest guest_nice") of /proc/stat.
func ParseProcStat(b []byte) (MachineCPU, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return MachineCPU{}, fmt.Errorf("proc: stat: bad cpu line %q", line)
	}
	var v [8]int64
	for i := range v {
		n, err := strconv.ParseInt(string(f[i+1]), 10, 64)
		if err != nil {
			return MachineCPU{}, fmt.Errorf("proc: stat: bad cpu line %q", line)
		}
		v[i] = n
	}
	return MachineCPU{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
}
