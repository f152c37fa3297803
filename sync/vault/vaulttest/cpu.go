package vaulttest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPU is the processor time (user and system) the server process has used
// so far, read from /proc (Linux; 0 elsewhere or once it has exited).
// Benchmarks report it beside wall time: on a machine shared with other
// work, wall time measures the load as much as hush, CPU time much less.
func (s *Server) CPU() time.Duration {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return procCPU(s.cmd.Process.Pid)
}

// procCPU reads utime+stime of pid from /proc/PID/stat, in clock ticks of
// 1/100 s (USER_HZ on every Linux hush runs on).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b)[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// SelfCPU is procCPU of the calling process (the test binary: the client).
func SelfCPU() time.Duration { return procCPU(os.Getpid()) }
