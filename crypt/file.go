package crypt

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrUnsafeFile means a key file is a symlink, not a regular file, or
// readable by group or others.
var ErrUnsafeFile = errors.New("unsafe file")

// maxKeyFile bounds key files: an RSA-4096 OpenSSH key is about 3.4 KB.
const maxKeyFile = 64 << 10

// ReadKeyFile reads an identity file, refusing symlinks, non-regular files
// and files that group or others may read (as ssh does for private keys).
func ReadKeyFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow|oNonBlock, 0)
	if err != nil {
		if isSymlinkErr(err) {
			return nil, fmt.Errorf("%w: identity file %s is a symlink", ErrUnsafeFile, path)
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: identity file %s is not a regular file", ErrUnsafeFile, path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: identity file %s is accessible by others (mode %04o); run chmod 600 %s",
			ErrUnsafeFile, path, st.Mode().Perm(), path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("identity file %s is too large to be a key", path)
	}
	return b, nil
}

// WriteKeyFile creates path with mode 0600 and writes content to it. It
// never overwrites: an existing file (or symlink) is an error wrapping
// fs.ErrExist. Parent directories are created 0700.
func WriteKeyFile(path string, content []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; refusing to overwrite a key: %w", path, fs.ErrExist)
		}
		return err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
