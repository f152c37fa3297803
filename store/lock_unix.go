//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
)

// Open flags used for hush's own files: no symlink at the last element,
// no blocking on a FIFO planted in a file's place.
const (
	ONoFollow = syscall.O_NOFOLLOW
	oNonBlock = syscall.O_NONBLOCK
)

// IsSymlinkError reports whether an open failed because of O_NOFOLLOW.
func IsSymlinkError(err error) bool { return errors.Is(err, syscall.ELOOP) }

// LockExclusive takes an exclusive advisory lock on f, waiting for it.
func LockExclusive(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

// unlockFile releases LockExclusive.
func unlockFile(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// isSyncUnsupported: some file systems cannot fsync a directory.
func isSyncUnsupported(err error) bool { return errors.Is(err, syscall.EINVAL) }

// linkCount is a file's number of hard links.
func linkCount(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Nlink)
	}
	return 1
}
