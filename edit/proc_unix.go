//go:build unix

package edit

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// alive says whether process pid runs and, where the start time is
// known, is the process that started at start (not a later one given
// the same pid).
func alive(pid int, start string) bool {
	err := syscall.Kill(pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return false
	}
	if now := startTime(pid); now != "0" && start != "0" && now != start {
		return false
	}
	return true
}

// startTime is the start time of process pid in clock ticks after boot
// (field 22 of /proc/PID/stat), "0" where it cannot be read.
func startTime(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "0"
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "0"
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); the start time is field 22.
	if len(f) < 20 {
		return "0"
	}
	if _, err := strconv.ParseUint(f[19], 10, 64); err != nil {
		return "0"
	}
	return f[19]
}

func ownedByMe(path string) bool {
	st, err := os.Lstat(path)
	if err != nil || !st.IsDir() {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == os.Getuid()
}
