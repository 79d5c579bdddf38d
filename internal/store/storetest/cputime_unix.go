//go:build unix

package storetest

import (
	"syscall"
	"time"
)

// CPUTime is the CPU (user + system) this process has used so far: what a
// benchmark of a store reports beside wall time, since with PostgreSQL the
// wall time includes the server's work.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
