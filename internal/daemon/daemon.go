// Package daemon stops the throwaway servers tests start (Vault,
// PostgreSQL, slapd, MariaDB, moto, pebble): one way to ask a process to
// end and, if it will not, to kill it.
package daemon

import (
	"os"
	"os/exec"
	"time"
)

// Stop sends sig to cmd's process and waits up to wait for done (closed
// when the process has been reaped); then kills it and waits. A process
// already gone is left alone.
func Stop(cmd *exec.Cmd, done <-chan struct{}, sig os.Signal, wait time.Duration) {
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-done
	}
}
