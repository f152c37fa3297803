//go:build unix

package inject

import (
	"os"

	"github.com/creack/pty"
	"golang.org/x/term"
)

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// openPTY makes the masking pseudo-terminal: sized as out, the real
// terminal, and raw, so that the child's bytes reach the masker unchanged
// (no LF → CR LF translation to split a multi-line value). The slave is not
// made the child's controlling terminal: the child stays in hush's session
// and process group, where the real terminal's signals and /dev/tty reach it.
func openPTY(out *os.File) (master, slave *os.File, err error) {
	master, slave, err = pty.Open()
	if err != nil {
		return nil, nil, err
	}
	if _, err = term.MakeRaw(int(slave.Fd())); err == nil {
		err = inheritSize(out, master)
	}
	if err != nil {
		_ = master.Close()
		_ = slave.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// inheritSize copies the window size of from to the pty to.
func inheritSize(from, to *os.File) error { return pty.InheritSize(from, to) }
