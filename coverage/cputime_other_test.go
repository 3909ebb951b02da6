//go:build !unix

package coverage

import "time"

// cpuTime is unknown here (0: the per-CPU-second figure is not reported).
func cpuTime() time.Duration { return 0 }
