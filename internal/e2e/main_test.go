package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the fulcrum binary built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fulcrum-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "fulcrum")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "../../cmd/fulcrum")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build fulcrum:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gateway is one running fulcrum process.
type gateway struct {
	t    testing.TB
	cmd  *exec.Cmd
	URL  string // http://127.0.0.1:PORT
	Dir  string // data directory
	mu   sync.Mutex
	logs strings.Builder
	done chan struct{}
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startGateway writes config to a temp dir and starts `fulcrum serve`.
func startGateway(t testing.TB, config string, env ...string) *gateway {
	t.Helper()
	return startGatewayIn(t, t.TempDir(), config, env...)
}

// startGatewayIn starts `fulcrum serve` with its data in dir.
func startGatewayIn(t testing.TB, dir, config string, env ...string) *gateway {
	t.Helper()
	path := filepath.Join(dir, "fulcrum.yaml")
	config = strings.ReplaceAll(config, "DATA_DIR", dir)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &gateway{t: t, Dir: dir, done: make(chan struct{})}
	g.cmd = exec.Command(binary, "serve", "--config", path, "--listen", "127.0.0.1:0")
	g.cmd.Env = append(os.Environ(), env...)
	stderr, err := g.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		defer close(g.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			g.mu.Lock()
			g.logs.WriteString(line + "\n")
			g.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-addr:
		g.URL = "http://" + a
	case <-g.done:
		t.Fatalf("fulcrum exited before listening:\n%s", g.Logs())
	case <-time.After(60 * time.Second):
		g.cmd.Process.Kill()
		t.Fatalf("fulcrum did not start:\n%s", g.Logs())
	}
	t.Cleanup(func() { g.Stop() })
	return g
}

// Logs returns what the gateway logged so far.
func (g *gateway) Logs() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.logs.String()
}

// Kill sends SIGKILL and waits for the process to die.
func (g *gateway) Kill() {
	g.cmd.Process.Kill()
	<-g.done
	g.cmd.Wait()
}

// Stop sends SIGTERM and waits for the process to exit.
func (g *gateway) Stop() error {
	if g.cmd.ProcessState != nil {
		return nil
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { <-g.done; waited <- g.cmd.Wait() }()
	select {
	case err := <-waited:
		return err
	case <-time.After(40 * time.Second):
		g.cmd.Process.Kill()
		return fmt.Errorf("fulcrum did not stop after SIGTERM")
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
