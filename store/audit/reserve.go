package audit

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/hush-secrets/hush/store"
)

// A change is refused before it happens when its audit line could not be
// written (Writable), but a disk can fill between the check and the line:
// the store's new file takes the last free blocks, and the change would
// stand unrecorded. So Writable also keeps a ballast beside the log —
// ReserveSize bytes allocated on the same file system — and an append that
// meets a full disk releases it and tries once more. The line of the
// change then has the room the ballast held; the next Writable, once space
// is back, allocates it again, and refuses while it cannot.

// ReserveSize is the room kept for the audit lines of one command, its
// anchor and witness: some 150 lines.
const ReserveSize = 64 << 10

func (l *Log) reservePath() string { return l.Path + ".reserve" }

// reserve makes sure the ballast is there, whole.
func (l *Log) reserve() error {
	path := l.reservePath()
	if st, err := os.Lstat(path); err == nil && st.Mode().IsRegular() && st.Size() >= ReserveSize {
		return nil
	} else if err == nil && !st.Mode().IsRegular() {
		return fmt.Errorf("audit: %s is not a regular file", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|store.ONoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("audit: keep room for the audit line: %w", err)
	}
	err = allocate(f, ReserveSize)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// A ballast that could not be allocated holds nothing: remove it,
		// so it is not taken for one.
		os.Remove(path)
		return fmt.Errorf("audit: keep room for the audit line: %w", err)
	}
	return nil
}

// release frees the ballast and says whether there was one.
func (l *Log) release() bool {
	return os.Remove(l.reservePath()) == nil
}

// isNoSpace says err is a full disk or quota.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// writeZeros fills f with size zero bytes and syncs them to disk.
func writeZeros(f *os.File, size int64) error {
	buf := make([]byte, 64<<10)
	for off := int64(0); off < size; off += int64(len(buf)) {
		if _, err := f.WriteAt(buf, off); err != nil {
			return err
		}
	}
	return f.Sync()
}
