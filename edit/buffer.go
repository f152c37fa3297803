// Package edit keeps the plaintext buffer of `hush edit` off the disk and
// starts editors so that they keep no copy of it: the buffer lives in a
// private directory on a memory-backed file system (checked with statfs,
// never assumed from a path), named after the process that made it so a
// later start removes the buffers of processes that died (SIGKILL, a
// crash); editors hush knows are started without swap, undo, backup or
// history files.
//
// It imports nothing of hush: it works on paths and argv only.
package edit

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// prefix starts the name of every buffer directory:
// hush-edit-<pid>-<process start time>-<random>.
const prefix = "hush-edit-"

// Buffer is one private directory for an edit's plaintext.
type Buffer struct {
	// Dir is the private directory (0700).
	Dir string
	// FS names the file system Dir is on (tmpfs, ramfs).
	FS string
	// Stale lists the buffers of dead processes removed on the way.
	Stale []string
}

// ErrNoMemoryDir means no candidate directory is memory-backed.
var ErrNoMemoryDir = errors.New("no memory-backed directory for the edit buffer")

// NewBuffer creates a buffer directory in the first of bases that exists
// and is on a memory-backed file system. A base that is not (a disk-backed
// $XDG_RUNTIME_DIR) is skipped, never used; when none is, the error wraps
// ErrNoMemoryDir and says why each was refused. Stale buffers of dead
// processes in the chosen base are removed first.
func NewBuffer(bases []string) (*Buffer, error) {
	var why []string
	for _, base := range bases {
		if base == "" {
			continue
		}
		if !filepath.IsAbs(base) {
			why = append(why, fmt.Sprintf("%s: not an absolute path", base))
			continue
		}
		st, err := os.Stat(base)
		if err != nil || !st.IsDir() {
			why = append(why, fmt.Sprintf("%s: not a directory", base))
			continue
		}
		fs, mem, err := fsType(base)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", base, err))
			continue
		}
		if !mem {
			why = append(why, fmt.Sprintf("%s: on %s, which is disk-backed", base, fs))
			continue
		}
		b := &Buffer{FS: fs, Stale: RemoveStale(base)}
		for _, other := range bases {
			if other != base && other != "" && filepath.IsAbs(other) {
				if _, mem, err := fsType(other); err == nil && mem {
					b.Stale = append(b.Stale, RemoveStale(other)...)
				}
			}
		}
		dir, err := mkdir(base)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", base, err))
			continue
		}
		// The directory itself is checked too: a base could hold a
		// disk-backed mount under the name hush just made (it cannot, as
		// Mkdir made it, but the check costs one system call).
		if _, mem, err := fsType(dir); err != nil || !mem {
			os.RemoveAll(dir)
			why = append(why, fmt.Sprintf("%s: the buffer directory is not memory-backed", base))
			continue
		}
		b.Dir = dir
		return b, nil
	}
	if len(why) == 0 {
		why = append(why, "no candidate directory")
	}
	return nil, fmt.Errorf("%w (%s); refusing to write plaintext to disk", ErrNoMemoryDir, strings.Join(why, "; "))
}

func mkdir(base string) (string, error) {
	r := make([]byte, 6)
	if _, err := rand.Read(r); err != nil {
		return "", err
	}
	pid := os.Getpid()
	dir := filepath.Join(base, fmt.Sprintf("%s%d-%s-%s", prefix, pid, startTime(pid), hex.EncodeToString(r)))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// Remove deletes the buffer directory and everything in it (an editor's
// lock, swap or emergency-save files included).
func (b *Buffer) Remove() error { return os.RemoveAll(b.Dir) }

// RemoveStale removes, from base, the buffer directories of this user
// whose process is gone (or whose pid now belongs to a process started at
// another time), and returns their paths. Buffers of live processes, of
// other users, and anything that is not a directory are left alone.
func RemoveStale(base string) []string {
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || !e.IsDir() {
			continue
		}
		parts := strings.SplitN(strings.TrimPrefix(name, prefix), "-", 3)
		if len(parts) != 3 {
			continue // not one of ours (or made by an older hush: its pid is unknown)
		}
		pid, err := strconv.Atoi(parts[0])
		if err != nil || pid <= 0 {
			continue
		}
		path := filepath.Join(base, name)
		if !ownedByMe(path) || alive(pid, parts[1]) {
			continue
		}
		if os.RemoveAll(path) == nil {
			removed = append(removed, path)
		}
	}
	return removed
}
