package proc

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name, in string
		want     float64
		wantErr  bool
	}{
		{"plain", "1234 (fulcrum) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 8 0 100 0 0", 3.25, false},
		{"name with spaces and parens", "99 (a) b (c)) R 1 2 3 4 5 6 7 8 9 10 7 3 0 0", 0.10, false},
		{"truncated", "99 (x) R 1 2 3", 0, true},
		{"no name", "garbage", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseStatCPU([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: got %v, %v; want %v, err %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseStatusMem(t *testing.T) {
	in := "Name:\tfulcrum\nVmPeak:\t 1000 kB\nVmHWM:\t   14336 kB\nVmRSS:\t   12000 kB\nThreads:\t5\n"
	got, err := ParseStatusMem([]byte(in))
	if err != nil || got != (Memory{PeakKB: 14336, RSSKB: 12000}) {
		t.Errorf("got %+v, %v", got, err)
	}
	in = "VmHWM:\t   48684 kB\nVmRSS:\t   48104 kB\nRssAnon:\t    9820 kB\nRssFile:\t   38284 kB\nRssShmem:\t       0 kB\n"
	got, err = ParseStatusMem([]byte(in))
	if err != nil || got != (Memory{PeakKB: 48684, RSSKB: 48104, AnonKB: 9820, FileKB: 38284}) {
		t.Errorf("with RssAnon/RssFile: got %+v, %v", got, err)
	}
	if _, err := ParseStatusMem([]byte("RssAnon:\t 1 kB\nRssFile:\t 2 kB\n")); err == nil {
		t.Error("want an error with RssAnon/RssFile but no VmHWM/VmRSS")
	}
	if _, err := ParseStatusMem([]byte("Name:\tx\n")); err == nil {
		t.Error("want an error without VmHWM")
	}
}

func TestSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	if _, err := CPU(os.Getpid()); err != nil {
		t.Error(err)
	}
	m, err := Mem(os.Getpid())
	if err != nil || m.PeakKB <= 0 || m.RSSKB <= 0 || m.RSSKB > m.PeakKB || m.AnonKB <= 0 || m.AnonKB > m.RSSKB {
		t.Errorf("Mem(self) = %+v, %v", m, err)
	}
}

func TestParseProcStat(t *testing.T) {
	got, err := ParseProcStat([]byte("cpu  100 2 30 400 5 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"))
	want := MachineCPU{User: 100, Nice: 2, System: 30, Idle: 400, IOWait: 5, IRQ: 6, SoftIRQ: 7, Steal: 8}
	if err != nil || got != want || got.Total() != 558 {
		t.Errorf("got %+v, %v; want %+v (total 558)", got, err, want)
	}
	if _, err := ParseProcStat([]byte("intr 1 2 3\n")); err == nil {
		t.Error("a file without a cpu line parsed")
	}
}

func TestParseStatusSwitches(t *testing.T) {
	v, n := ParseStatusSwitches([]byte("Name:\tx\nvoluntary_ctxt_switches:\t150\nnonvoluntary_ctxt_switches:\t7\n"))
	if v != 150 || n != 7 {
		t.Errorf("got %d, %d; want 150, 7", v, n)
	}
}

func TestReadSchedSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux /proc only")
	}
	s0, err := ReadSched(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		time.Sleep(time.Millisecond) // each sleep is a voluntary switch
	}
	s1, err := ReadSched(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := s1.Sub(s0); d.Voluntary < 1 || d.RunDelayNS < 0 {
		t.Errorf("after 20 sleeps: %+v", d)
	}
	if _, err := ReadMachineCPU(); err != nil {
		t.Error(err)
	}
}
