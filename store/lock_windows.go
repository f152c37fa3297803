package store

import (
	"os"

	"golang.org/x/sys/windows"
)

// Windows has no O_NOFOLLOW; hush's files are checked with Lstat before
// they are replaced.
const (
	ONoFollow = 0
	oNonBlock = 0
)

// IsSymlinkError is always false on Windows.
func IsSymlinkError(error) bool { return false }

// LockExclusive takes an exclusive lock on f with LockFileEx.
func LockExclusive(f *os.File) error {
	ol := new(windows.Overlapped)
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, ol)
}

// unlockFile releases LockExclusive.
func unlockFile(f *os.File) {
	ol := new(windows.Overlapped)
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
}

func isSyncUnsupported(error) bool { return true }

// linkCount is 1 on Windows, where hush does not ask.
func linkCount(os.FileInfo) uint64 { return 1 }
