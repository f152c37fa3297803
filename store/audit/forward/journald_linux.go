package forward

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// writeJournal sends one entry as a datagram, or, when the socket refuses
// one that large, as a sealed memfd (journald reads such a file whole and
// requires the seals, so the sender cannot change it under it).
func writeJournal(conn *net.UnixConn, m []byte) error {
	_, err := conn.Write(m)
	if err == nil || !errors.Is(err, unix.EMSGSIZE) && !errors.Is(err, unix.ENOBUFS) {
		return err
	}
	fd, err := unix.MemfdCreate("hush-journal", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return fmt.Errorf("journal entry of %d bytes: memfd: %w", len(m), err)
	}
	f := os.NewFile(uintptr(fd), "hush-journal")
	defer f.Close()
	if _, err := f.Write(m); err != nil {
		return fmt.Errorf("journal entry: memfd: %w", err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		return fmt.Errorf("journal entry: seal memfd: %w", err)
	}
	// An empty datagram carrying the descriptor (WriteMsgUnix refuses a
	// connected datagram socket).
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	werr := rc.Write(func(s uintptr) bool {
		serr = unix.Sendmsg(int(s), nil, unix.UnixRights(int(f.Fd())), nil, 0)
		return !errors.Is(serr, unix.EAGAIN)
	})
	return errors.Join(werr, serr)
}
