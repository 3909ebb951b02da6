//go:build unix

package coverage

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system) the process has used: benchmarks divide by it to
// report points per CPU-second, which a machine shared with other work does not distort.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
