//go:build !unix

package meter

import "time"

// cpuTime is not measured here: the cpu-µs/rec metric reads 0.
func cpuTime() time.Duration { return 0 }
