package pebbletest

import "syscall"

// sysProcAttr kills the CA with the test binary, should it die without
// cleanup.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
