//go:build unix

package crypt

import (
	"errors"
	"syscall"
)

// Open flags: never follow a symlink at the last path element, and never
// block opening a FIFO planted where a key file should be.
const (
	oNoFollow = syscall.O_NOFOLLOW
	oNonBlock = syscall.O_NONBLOCK
)

func isSymlinkErr(err error) bool { return errors.Is(err, syscall.ELOOP) }
