package app

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// rssFileKB is the process's resident file-backed memory (RssFile).
func rssFileKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("RssFile:")); ok {
			n, err := strconv.Atoi(string(bytes.Fields(v)[0]))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// Releasing the start-up pages unmaps the test binary's code and read-only
// data while it runs: the process must go on running (pages come back on
// use) and hold fewer file pages right after than before.
func TestReleaseStartPages(t *testing.T) {
	before := rssFileKB(t)
	n := releaseStartPages()
	after := rssFileKB(t)
	if n == 0 {
		t.Fatal("released nothing: the executable's read-only mappings were not found")
	}
	if after >= before {
		t.Fatalf("RssFile %d kB before, %d kB after releasing %d bytes of mappings", before, after, n)
	}
	// Code and data used after the release still work: read-only data
	// (a string table), code never run before in this process, and the
	// runtime's function table (a stack trace).
	if got := strconv.Quote("policy\u00e9"); got != `"policy\u00e9"` && got != `"policyé"` {
		t.Fatalf("Quote after release = %s", got)
	}
	if !bytes.Contains(stack(), []byte("TestReleaseStartPages")) {
		t.Fatal("stack trace after release does not name the test")
	}
	t.Logf("RssFile %d -> %d kB (%d MB of mappings advised)", before, after, n>>20)
}

func stack() []byte {
	buf := make([]byte, 8<<10)
	return buf[:runtime.Stack(buf, false)]
}
