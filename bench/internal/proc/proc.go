// Package proc reads a process's CPU time and memory high-water mark from
// Linux's /proc, for the harness's "CPU time per request" and "peak RSS"
// columns.
package proc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// ClockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK)).
const ClockTicks = 100

// CPU returns the user+system CPU time of process pid (all its threads), in
// seconds, with the 10 ms resolution of /proc/PID/stat.
func CPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("proc: cpu: %w", err)
	}
	return ParseStatCPU(b)
}

// ParseStatCPU reads utime and stime (fields 14 and 15) from the text of
// /proc/PID/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from its last ')'.
func ParseStatCPU(b []byte) (float64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc: stat: no command name")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("proc: stat: %d fields", len(f)+2)
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("proc: stat: bad utime/stime %q %q", f[11], f[12])
	}
	return float64(ut+st) / ClockTicks, nil
}

// Memory is resident memory in KiB.
type Memory struct {
	PeakKB int64 // VmHWM: the most resident memory the process ever had
	RSSKB  int64 // VmRSS: resident memory now
	// VmRSS is the sum of these two (and RssShmem). AnonKB is private
	// memory: heap, stacks, buffers, what load makes grow. FileKB is pages
	// of mapped files, mostly the executable's code and read-only data:
	// clean, shared with every process mapping the same file, and
	// reclaimable; the kernel maps them in blocks around each touched page
	// (fault-around), so a large binary shows more of it than it reads.
	AnonKB int64 // RssAnon
	FileKB int64 // RssFile
}

// Mem reads /proc/PID/status.
func Mem(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("proc: mem: %w", err)
	}
	return ParseStatusMem(b)
}

// ParseStatusMem reads VmHWM and VmRSS ("VmHWM:\t  12345 kB"), and RssAnon
// and RssFile where the kernel reports them (Linux 4.5 and later), from the
// text of /proc/PID/status.
func ParseStatusMem(b []byte) (Memory, error) {
	var m Memory
	var found int
	for line := range bytes.Lines(b) {
		var dst *int64
		required := true
		switch {
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst = &m.PeakKB
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst = &m.RSSKB
		case bytes.HasPrefix(line, []byte("RssAnon:")):
			dst, required = &m.AnonKB, false
		case bytes.HasPrefix(line, []byte("RssFile:")):
			dst, required = &m.FileKB, false
		default:
			continue
		}
		f := bytes.Fields(line)
		if len(f) < 2 {
			return m, fmt.Errorf("proc: status: bad line %q", line)
		}
		v, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil {
			return m, fmt.Errorf("proc: status: bad line %q: %w", line, err)
		}
		*dst = v
		if required {
			found++
		}
	}
	if found < 2 {
		return m, fmt.Errorf("proc: status: no VmHWM/VmRSS")
	}
	return m, nil
}
