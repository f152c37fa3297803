// Package daemon stops the throwaway servers tests start (Vault,
// PostgreSQL, slapd, MariaDB, moto, pebble): one way to ask a process to
// end and, if it will not, to kill it.
package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Group makes cmd, not started yet, the leader of a process group of its
// own, so that Stop ends what it started as well: a Vault server's plugin
// processes outlived a server that was killed, or did not stop them in
// time, and were left running after the tests.
func Group(cmd *exec.Cmd) { setGroup(cmd) }

// Stop sends sig to cmd's process and waits up to wait for done (closed
// when the process has been reaped); then kills it and waits. A process
// already gone is left alone. For a cmd made a group leader by Group,
// whatever is left of its group is killed once it is gone.
func Stop(cmd *exec.Cmd, done <-chan struct{}, sig os.Signal, wait time.Duration) {
	defer killGroup(cmd)
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

// Cached finds .cache/REL in the working directory or a parent (the
// repository root), where .ci/deps builds and installs the servers tests
// run (.cache/bin/vault, .cache/bin/kube-apiserver…). ok is false when
// there is none.
func Cached(rel string) (path string, ok bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		p := filepath.Join(dir, ".cache", filepath.FromSlash(rel))
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
