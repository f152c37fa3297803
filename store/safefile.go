package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Files hush edits or reads on a user's behalf in a repository — the
// .gitattributes and .gitignore it appends to, a file to import — are
// untrusted: a commit can make any of them a symlink to ~/.bashrc or
// ~/.git-credentials. The functions here never write through a link and
// never follow one the repository planted out of the project.

// UpdateFile edits a small text file in place, in effect: it reads path
// without following a link, hands its content to edit (exists false and
// old nil when there is no file) and atomically replaces the file with what
// edit returns, keeping its permission bits; a new file gets newPerm. edit
// returning nil bytes changes nothing. A path that is a symlink, anything
// but a regular file, or a regular file with other hard links is refused:
// its content would be copied into a file of the repository.
func UpdateFile(path string, maxSize int64, newPerm fs.FileMode, edit func(old []byte, exists bool) ([]byte, error)) (changed bool, err error) {
	// Lstat first: Windows has no O_NOFOLLOW.
	if err := refuseSymlink(path); err != nil {
		return false, err
	}
	old, st, err := readNoFollow(path, maxSize)
	exists := err == nil
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A dangling symlink also reads as "not there": Lstat tells.
		if lst, lerr := os.Lstat(path); lerr == nil {
			return false, fmt.Errorf("%w: %s is %s; hush does not write through links", ErrUnsafe, path, fileKind(lst.Mode()))
		}
	case err != nil:
		return false, err
	}
	perm := newPerm
	if exists {
		if n := linkCount(st); n > 1 {
			return false, fmt.Errorf("%w: %s has %d hard links; hush does not write through links", ErrUnsafe, path, n)
		}
		perm = st.Mode().Perm()
	}
	data, err := edit(old, exists)
	if err != nil || data == nil {
		return false, err
	}
	// The rename replaces whatever is at path now; if another process put
	// a link there since the read, the link is replaced, not followed.
	return true, writeFile(path, data, true, perm)
}

// CreateFileExclusive writes data to a new file path with mode perm. Any
// existing entry, a dangling symlink included, makes it fail with an error
// matching fs.ErrExist; a half-written file is removed.
func CreateFileExclusive(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|ONoFollow, perm)
	if err != nil {
		return err
	}
	if err := writeSyncClose(f, data); err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ErrOutside marks a source file reached through a symlink in the project
// that leads out of it, or a source that is not a regular file.
var ErrOutside = errors.New("refused to follow")

// Source is a file hush is about to read on the user's behalf (import,
// migrate, diff), resolved.
type Source struct {
	// Path is as the user gave it; Real is every symlink resolved.
	Path, Real string
	// Link is true when the last element of Path is itself a symlink.
	Link bool
	// Linked is true when resolving Path followed any symlink.
	Linked bool
	// Planted is the first symlink followed that lies inside the roots
	// (the repository's), "" if none.
	Planted string
	// Escapes is true when a planted link leads out of the project
	// (roots[0]), or to somewhere resolution could not follow.
	Escapes bool
}

// WalkSource resolves path link by link, as the kernel would, and says
// which links it followed; it refuses nothing. roots are the directories
// whose content the repository controls: the project first, then the git
// work tree around it. When resolution fails part way
// the Source is still returned with the error, saying what was followed.
func WalkSource(path string, roots []string) (*Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	src := &Source{Path: path}
	if st, err := os.Lstat(abs); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		src.Link = true
	}
	rr := realPaths(roots)
	real, planted, linked, err := walkLinks(abs, rr)
	src.Real, src.Planted, src.Linked = real, planted, linked
	if err != nil {
		src.Escapes = planted != ""
		return src, fmt.Errorf("%s: %w", path, err)
	}
	src.Escapes = planted != "" && (len(rr) == 0 || !insideAny(real, rr[:1]))
	return src, nil
}

// realPaths resolves roots, keeping their order (the project first).
func realPaths(roots []string) []string {
	var out []string
	for _, r := range roots {
		if r == "" {
			continue
		}
		if rr, err := filepath.EvalSymlinks(r); err == nil {
			out = append(out, rr)
		} else if abs, err := filepath.Abs(r); err == nil {
			out = append(out, abs)
		}
	}
	return out
}

// ResolveSource resolves path and checks it is safe to read: a symlink
// located inside one of roots (the project, roots[0], and its git work
// tree, whose content anyone who can push controls) must lead to a file
// inside the project, and the file must be a regular file (not a FIFO a
// reader would block on or another process would feed, not a device).
// Links outside roots — the
// user's own, /tmp → /private/tmp — are the user's and followed. Resolution
// is done link by link, as the kernel would, so a link to a link to
// ~/.git-credentials is caught wherever it points.
func ResolveSource(path string, roots []string) (*Source, error) {
	src, err := WalkSource(path, roots)
	if err != nil {
		return nil, err
	}
	if src.Escapes {
		return nil, fmt.Errorf("%w: %s is a link in the project (%s) to %s, outside it", ErrOutside, path, src.Planted, src.Real)
	}
	real := src.Real
	st, err := os.Lstat(real)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is %s, not a regular file", ErrOutside, path, fileKind(st.Mode()))
	}
	return src, nil
}

// Open opens the resolved file for reading, refusing it if it was swapped
// for another since ResolveSource looked at it.
func (s *Source) Open() (*os.File, error) {
	before, err := os.Lstat(s.Real)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.Real, os.O_RDONLY|ONoFollow|oNonBlock, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && (!st.Mode().IsRegular() || !os.SameFile(before, st)) {
		err = fmt.Errorf("%w: %s changed while hush opened it", ErrOutside, s.Path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// walkLinks resolves abs one element at a time. planted is the first
// symlink met that lies inside roots ("" if none); linked says whether any
// symlink was followed.
func walkLinks(abs string, roots []string) (real, planted string, linked bool, err error) {
	rest := strings.Split(filepath.ToSlash(abs), "/")
	cur := string(filepath.Separator)
	if v := filepath.VolumeName(abs); v != "" {
		cur = v + string(filepath.Separator)
		rest = strings.Split(filepath.ToSlash(abs[len(v):]), "/")
	}
	for hops := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, part)
		st, err := os.Lstat(next)
		if err != nil {
			return "", planted, linked, err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 255 {
			return "", planted, linked, errors.New("too many levels of symbolic links")
		}
		linked = true
		if planted == "" && insideAny(next, roots) {
			planted = next
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", planted, linked, err
		}
		if filepath.IsAbs(target) {
			cur = string(filepath.Separator)
			if v := filepath.VolumeName(target); v != "" {
				cur = v + string(filepath.Separator)
				target = target[len(v):]
			}
		}
		rest = append(strings.Split(filepath.ToSlash(target), "/"), rest...)
	}
	return cur, planted, linked, nil
}

// insideAny reports whether path is one of roots or below one.
func insideAny(path string, roots []string) bool {
	for _, r := range roots {
		if rel, err := filepath.Rel(r, path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// CreateFileAtomic writes data to a new file path, mode 0600, that
// appears whole or not at all: a temporary file in the same directory is
// written and fsynced, then linked to path, which fails with an error
// matching fs.ErrExist when anything is there (a dangling symlink
// included: link(2) never follows the new name). A crash at any instant
// leaves no file at path, or the whole one. On a file system without hard
// links it falls back to CreateFileExclusive.
func CreateFileAtomic(path string, data []byte) error {
	f, tmp, dir, err := createTemp(path)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := writeSyncClose(f, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) {
			return CreateFileExclusive(path, data, 0o600)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

// writeSyncClose writes data to f, flushes it to the disk and closes it.
func writeSyncClose(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
