package command

import (
	"os"
	"syscall"
)

// sysProcAttr puts the command in a process group of its own (the
// timeout ends all of it) and kills it with hush: a command left running
// after hush died could change the source after the journal was read.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// terminate sends SIGTERM to the command's process group.
func terminate(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGTERM) }
