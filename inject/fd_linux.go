package inject

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// closeOnExecAll marks every descriptor above 2 close-on-exec, so that a
// descriptor hush inherited without the flag does not reach the child. Go
// opens its own with the flag already; exec.Cmd and execChild clear it on
// the ones the child is meant to get.
func closeOnExecAll() error {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	// Before Linux 5.11: walk /proc/self/fd.
	return closeOnExecListed("/proc/self/fd")
}

// closeOnExecListed sets close-on-exec on the descriptors listed in dir.
func closeOnExecListed(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if fd, err := strconv.Atoi(n); err == nil && fd > 2 {
			_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		}
	}
	return nil
}
