package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces path with data so that a crash at any instant
// leaves either the old or the new file: a temporary file in the same
// directory, created exclusively with mode 0600, is written, fsynced and
// renamed over path, and the directory is fsynced so the rename survives a
// power loss. A path that is a symlink, a FIFO, a device or anything but a
// regular file is refused. A regular file with other hard links is
// replaced, not written through: the rename gives path a new inode and the
// other names keep the old content.
func WriteFileAtomic(path string, data []byte) error {
	return writeFile(path, data, true, 0o600)
}

// WriteFileAtomicMode is WriteFileAtomic for a file that is not secret:
// the new file gets the permission bits perm (not reduced by the umask).
func WriteFileAtomicMode(path string, data []byte, perm fs.FileMode) error {
	return writeFile(path, data, true, perm)
}

// ReplaceFile is WriteFileAtomic without the two fsyncs: readers and a
// crashed process still see the old or the new file, but after a power
// loss the file may be the old one. For hush's own bookkeeping that is
// rewritten on every command (the audit anchor), never for stores.
func ReplaceFile(path string, data []byte) error {
	return writeFile(path, data, false, 0o600)
}

func writeFile(path string, data []byte, durable bool, perm fs.FileMode) error {
	if err := refuseSymlink(path); err != nil {
		return err
	}
	f, tmp, dir, err := createTemp(path)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if perm != 0o600 {
		if err := f.Chmod(perm.Perm()); err != nil {
			return fail(err)
		}
	}
	if durable {
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if !durable {
		return nil
	}
	return syncDir(dir)
}

// createTemp creates a new temporary file beside path, mode 0600,
// exclusively and without following a link, and returns it, its name and
// its directory.
func createTemp(path string) (f *os.File, tmp, dir string, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, "", "", err
	}
	tmp = filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(rnd[:]))
	f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|ONoFollow, 0o600)
	if err != nil {
		return nil, "", "", fmt.Errorf("write %s: %w", path, err)
	}
	return f, tmp, dir, nil
}

// SyncDir makes dir's entries durable: after creating a file in place
// (not by rename), its name must survive a power loss too.
func SyncDir(dir string) error { return syncDir(dir) }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !isSyncUnsupported(err) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// refuseSymlink fails when path exists and is not a regular file: a
// symlink, a FIFO, a device, a socket or a directory.
func refuseSymlink(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%w: %s is a symlink; hush does not follow links for its files", ErrUnsafe, path)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file (%s); hush writes only regular files", ErrUnsafe, path, fileKind(st.Mode()))
	}
	return nil
}

// fileKind names a file type for an error.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "not a regular file"
}

// ReadFileNoFollow reads a regular file without following a symlink at the
// last path element. maxSize bounds what is read.
func ReadFileNoFollow(path string, maxSize int64) ([]byte, error) {
	b, _, err := readNoFollow(path, maxSize)
	return b, err
}

// readNoFollow is ReadFileNoFollow that also returns what fstat said of
// the file it read.
func readNoFollow(path string, maxSize int64) ([]byte, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|ONoFollow|oNonBlock, 0)
	if err != nil {
		if IsSymlinkError(err) {
			return nil, nil, fmt.Errorf("%w: %s is a symlink; hush does not follow links for its files", ErrUnsafe, path)
		}
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%w: %s is not a regular file (%s)", ErrUnsafe, path, fileKind(st.Mode()))
	}
	if st.Size() > maxSize {
		return nil, nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrIntegrity, path, maxSize)
	}
	b := make([]byte, 0, st.Size()+1)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if len(b) == cap(b) {
			if int64(len(b)) > maxSize {
				return nil, nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrIntegrity, path, maxSize)
			}
			b = append(b, 0)[:len(b)]
		}
	}
	return b, st, nil
}

// Lock is an advisory lock held on a separate lock file, so the files it
// guards can be replaced by rename while it is held.
type Lock struct{ f *os.File }

// LockFile takes an exclusive flock on path, creating it 0600. It blocks
// until the lock is free. A symlinked lock file is refused.
func LockFile(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|ONoFollow, 0o600)
	if err != nil {
		if IsSymlinkError(err) {
			return nil, fmt.Errorf("%w: lock file %s is a symlink", ErrUnsafe, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err = LockExclusive(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		unlockFile(l.f)
		l.f.Close()
		l.f = nil
	}
}
