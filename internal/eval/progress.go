package eval

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress reports how many calls are done: a redrawn bar on a terminal,
// a plain line every tenth otherwise. Safe for concurrent use.
type progress struct {
	w     io.Writer
	tty   bool
	total int
	start time.Time
	now   func() time.Time

	mu       sync.Mutex // guards the following fields
	done     int
	lastStep int
	lastDraw time.Time
}

// IsTerminal reports whether f is a character device (a terminal), for
// Options.TTY.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, tty bool, total int, now func() time.Time) *progress {
	return &progress{w: w, tty: tty, total: total, now: now, start: now()}
}

func (p *progress) step() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	t := p.now()
	if p.tty {
		if p.done < p.total && t.Sub(p.lastDraw) < 100*time.Millisecond {
			return
		}
		p.lastDraw = t
		const width = 30
		fill := width * p.done / max(p.total, 1)
		fmt.Fprintf(p.w, "\r[%s%s] %d/%d %3d%% %s", strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
			p.done, p.total, 100*p.done/max(p.total, 1), t.Sub(p.start).Round(100*time.Millisecond))
		if p.done == p.total {
			fmt.Fprintln(p.w)
		}
		return
	}
	if s := 10 * p.done / max(p.total, 1); s > p.lastStep || p.done == p.total {
		p.lastStep = s
		fmt.Fprintf(p.w, "eval: %d/%d calls done (%d%%) in %s\n", p.done, p.total, 100*p.done/max(p.total, 1),
			t.Sub(p.start).Round(100*time.Millisecond))
	}
}
