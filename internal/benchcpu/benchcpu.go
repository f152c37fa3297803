// Package benchcpu measures a benchmark in CPU time as well as wall time:
// on a machine shared with other work, ns/op grows with the load, while
// the process's own user and system time does much less.
package benchcpu

import (
	"testing"
	"time"
)

// Report adds cpu-ns/op to b: the process's CPU time since start (a Now
// taken before the loop), per iteration.
func Report(b *testing.B, start time.Duration) {
	if now := Now(); now > 0 {
		b.ReportMetric(float64(now-start)/float64(b.N), "cpu-ns/op")
	}
}
