package meter

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const childEnv = "FULCRUM_METER_KILL_CHILD"

// TestRecorderSurvivesKill re-runs this test binary as a child that records
// as fast as it can from several goroutines, printing each request id once
// Record has returned. The parent kills it with SIGKILL at a random moment,
// then recovers the journal and checks that every confirmed record is in
// the store.
func TestRecorderSurvivesKill(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		killChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	for round := range 3 {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestRecorderSurvivesKill$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+dir)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			confirmed := map[string]bool{}
			sc := bufio.NewScanner(out)
			killAt := 500 + rand.IntN(5000)
			killed := false
			for sc.Scan() {
				id, ok := strings.CutPrefix(sc.Text(), "ok ")
				if !ok {
					continue
				}
				confirmed[id] = true
				if !killed && len(confirmed) >= killAt {
					// Wait a random few milliseconds more so the kill lands
					// anywhere: mid-write, mid-commit, mid-truncate.
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					killed = true
				}
			}
			werr := cmd.Wait()
			if !killed {
				t.Fatalf("child ended before the kill: %v", werr)
			}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child was not killed by SIGKILL: %v", werr)
			}

			st := openSQLite(t, filepath.Join(dir, "f.db"))
			before := len(allUsage(t, st))
			r, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: filepath.Join(dir, "journal")})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			stored := allUsage(t, st)
			missing := 0
			for id := range confirmed {
				if !stored[id] {
					missing++
				}
			}
			t.Logf("confirmed %d, committed before the kill %d, recovered from the journal %d, stored %d",
				len(confirmed), before, r.Stats().Recovered, len(stored))
			if missing > 0 {
				t.Errorf("%d of %d confirmed records lost", missing, len(confirmed))
			}
		})
	}
}

// killChild records until killed. Each id is printed with its own write(2)
// after Record returned, so a printed id is a confirmed record.
func killChild(dir string) {
	ctx := context.Background()
	st, err := openChildStore(filepath.Join(dir, "f.db"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	r, err := NewRecorder(ctx, RecorderOptions{Store: st, Dir: filepath.Join(dir, "journal"),
		BatchSize: 200, FlushInterval: 5 * time.Millisecond, SegmentBytes: 64 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += 4 {
				rec := testRecord(i)
				if err := r.Record(rec); err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(2)
				}
				mu.Lock()
				os.Stdout.WriteString("ok " + rec.RequestID + "\n")
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
