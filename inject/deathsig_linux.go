package inject

import (
	"os/exec"
	"syscall"
)

// dieWithHush asks the kernel to send the supervised child SIGTERM when
// hush dies, even by SIGKILL: a child whose leases nobody renews any more
// must not run on unseen. (The signal follows the thread that started the
// child; Go ends a thread only when a goroutine locked to it exits, which
// supervise never does.)
func dieWithHush(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
}
