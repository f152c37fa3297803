package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// origCore is the core-file limit hush was started with, restored for the
// programs hush runs: their crash behaviour is theirs to keep.
var origCore *syscall.Rlimit

// harden keeps secrets in hush's memory out of core dumps and away from
// other processes of the same user: no core files, and not dumpable (which
// also makes /proc/<pid>/mem and environ unreadable to them). Best effort:
// a failure leaves hush working.
func harden() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_CORE, &lim) == nil {
		origCore = &lim
		_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 0, Max: lim.Max})
	}
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// unharden gives a child the core limit hush was started with (the
// dumpable flag is reset by execve itself).
func unharden() {
	if origCore != nil {
		_ = syscall.Setrlimit(syscall.RLIMIT_CORE, origCore)
	}
}
