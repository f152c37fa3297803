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
