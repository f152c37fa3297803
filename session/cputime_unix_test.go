//go:build unix

package session

import (
	"syscall"
	"testing"
	"time"
)

// reportCPU adds cpu-ns/op to a benchmark: the process's user and system
// time since start, per iteration. On a machine shared with other work,
// ns/op (wall time) grows with the load; this does much less.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
