//go:build !unix

package audit

import "time"

// cpuTime is not measured here: the cpu-µs/rec metric reads 0.
func cpuTime() time.Duration { return 0 }
