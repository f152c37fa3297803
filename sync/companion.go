package sync

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// FindCompanion looks for the companion executable name (hush-sops,
// hush-cloud) beside the running hush, resolving symlinks as install.sh
// or a package installs it, then on PATH. ok is false when it is in
// neither place.
func FindCompanion(name string) (path string, ok bool) {
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if self, err := os.Executable(); err == nil {
		if self, err = filepath.EvalSymlinks(self); err == nil {
			p := filepath.Join(filepath.Dir(self), name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, true
			}
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	return "", false
}
