package main

import "golang.org/x/sys/unix"

// harden keeps the decrypted values this process holds out of reach of
// other processes of the same user (ptrace, /proc/PID/mem). hush starts it
// with core dumps already off.
func harden() {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
