package inject

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// NewSecretFile puts v in a memfd named after name, seals it read-only and
// rewinds it. The descriptor is close-on-exec in hush; Run clears that for
// the child only, at the same number. Where the kernel has no memfd
// (before 3.17) or a sandbox's seccomp filter refuses it, the file is a
// FIFO fed by hush, as on the other Unix systems.
func NewSecretFile(name string, v Value) (*SecretFile, error) {
	fd, err := memfdCreate("hush-"+name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		return newFIFOFile(name, v)
	}
	if err != nil {
		return nil, fmt.Errorf("inject: memfd for %s: %w", quoteName(name), err)
	}
	f := os.NewFile(uintptr(fd), "memfd:hush-"+name)
	fail := func(what string, err error) (*SecretFile, error) {
		_ = f.Close()
		return nil, fmt.Errorf("inject: memfd for %s: %s: %w", quoteName(name), what, err)
	}
	if _, err := f.WriteString(v.s); err != nil {
		return fail("write", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		return fail("seal", err)
	}
	// A child reading the inherited descriptor itself, rather than opening
	// /dev/fd/N afresh, starts at the beginning.
	if _, err := f.Seek(0, 0); err != nil {
		return fail("rewind", err)
	}
	return &SecretFile{path: "/dev/fd/" + strconv.Itoa(fd), file: f}, nil
}

// memfdCreate is unix.MemfdCreate; a test replaces it to play a kernel
// without memfd.
var memfdCreate = unix.MemfdCreate
