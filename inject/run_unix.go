//go:build unix

package inject

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ForwardedSignals are the signals hush passes on to a supervised child.
//
// The child runs in hush's process group, so it stays in the terminal's
// foreground with hush: Ctrl-C, Ctrl-\ and Ctrl-Z reach it directly from the
// terminal, job control works, and it can prompt on /dev/tty. What the
// terminal sends reaches both processes, so hush must not pass it on again;
// what is sent to hush's PID alone (a supervisor's SIGTERM, a kill -HUP)
// reaches only hush and must be passed on once. Go gives no siginfo to tell
// the sender, so hush decides by what could have sent the signal:
//
//   - SIGINT, SIGQUIT, SIGWINCH are what a terminal sends. They are not
//     forwarded while hush's process group is the foreground group of its
//     controlling terminal (checked when the signal arrives), as the
//     terminal then delivered them to the child too. Otherwise (no
//     terminal, or hush in the background, where the terminal cannot have
//     sent them) they are forwarded.
//   - SIGHUP comes from the terminal when it hangs up, sent to the session
//     leader, which passes it on to its jobs (a shell does), or whose exit
//     makes the kernel send it to the foreground group: the child gets it
//     either way. So it is not forwarded when hush had a controlling
//     terminal and has lost it, unless hush is the session leader itself
//     (then nobody else will tell the child); otherwise it is.
//   - SIGTERM, SIGUSR1, SIGUSR2 never come from a terminal: always
//     forwarded.
//
// What remains double is a signal someone sends to the whole group or to
// every process (kill -TERM -PGID, systemd's control-group kill): the child
// gets it from the sender and from hush. Signal handlers are written to
// tolerate a repeat; the opposite error, a child that never hears SIGTERM,
// is worse. SIGWINCH also updates the masking pseudo-terminal's size.
var ForwardedSignals = []os.Signal{unix.SIGTERM, unix.SIGHUP, unix.SIGINT, unix.SIGQUIT,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// notifySignals catches ForwardedSignals until stop. Catching starts before
// the child does, so none of them can kill hush and orphan it.
func notifySignals() (<-chan os.Signal, func()) {
	c := make(chan os.Signal, 64)
	signal.Notify(c, ForwardedSignals...)
	return c, func() { signal.Stop(c) }
}

// forwarder decides which received signals the child has not had.
type forwarder struct {
	tty    *os.File // the controlling terminal, opened at start; nil if none
	leader bool     // hush leads its session
	pty    *os.File // the masking pty, resized on SIGWINCH
	ttyOut *os.File // the real terminal it mirrors
}

func newForwarder(pty, ttyOut *os.File) *forwarder {
	f := &forwarder{pty: pty, ttyOut: ttyOut}
	if sid, err := unix.Getsid(0); err == nil && sid == unix.Getpid() {
		f.leader = true
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_RDONLY|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0); err == nil {
		f.tty = tty
	}
	return f
}

func (f *forwarder) close() {
	if f.tty != nil {
		_ = f.tty.Close()
	}
}

// foreground reports whether hush's process group is the foreground group of
// its controlling terminal, and whether the terminal is still there.
func (f *forwarder) foreground() (fg, ok bool) {
	if f.tty == nil {
		return false, false
	}
	pgrp, err := unix.IoctlGetInt(int(f.tty.Fd()), unix.TIOCGPGRP)
	if err != nil {
		return false, false // hung up (EIO) or no longer our terminal (ENOTTY)
	}
	return pgrp == unix.Getpgrp(), true
}

// forward reports whether sig must be passed on to the child.
func (f *forwarder) forward(sig os.Signal) bool {
	switch sig {
	case unix.SIGWINCH:
		if f.pty != nil {
			_ = inheritSize(f.ttyOut, f.pty)
		}
		fg, _ := f.foreground()
		return !fg
	case unix.SIGINT, unix.SIGQUIT:
		fg, _ := f.foreground()
		return !fg
	case unix.SIGHUP:
		_, ok := f.foreground()
		return f.tty == nil || ok || f.leader
	}
	return true
}

func terminate(p *os.Process) error { return p.Signal(unix.SIGTERM) }

func signalNumber(ps *os.ProcessState) (int, bool) {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return int(ws.Signal()), true
}

// defaultPath is execvp's search path when PATH is unset.
const defaultPath = "/bin:/usr/bin"

// lookPath finds file as execvp would in env's PATH, except that relative
// PATH entries ("", ".") are skipped: what they find depends on the working
// directory, the trap Go's exec.ErrDot closes. As execvp, it goes on past a
// file it may not execute and reports that only if nothing else is found.
func lookPath(file string, env Environ) (string, error) {
	if file == "" {
		return "", ErrNotFound
	}
	if strings.Contains(file, "/") {
		return file, executable(file)
	}
	path, ok := env.Lookup("PATH")
	if !ok {
		path = defaultPath
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, file)
		err := executable(p)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, ErrNotExecutable) && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", ErrNotFound
}

// executable checks that p is a file hush may execute.
func executable(p string) error {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("%w: %v", ErrNotExecutable, err)
	case st.IsDir():
		return fmt.Errorf("%w: is a directory", ErrNotExecutable)
	case unix.Access(p, unix.X_OK) != nil || st.Mode()&0o111 == 0:
		return fmt.Errorf("%w: permission denied", ErrNotExecutable)
	}
	return nil
}

// classify maps a failure to start to its exit code, as env(1) does: not
// found 127, found but not runnable 126, anything else (hush's own trouble:
// no memory, no processes left) 125.
func classify(err error) int {
	var errno syscall.Errno
	switch {
	case errors.Is(err, ErrNotFound):
		return CodeNotFound
	case errors.Is(err, ErrNotExecutable):
		return CodeNotExecutable
	case !errors.As(err, &errno):
		return CodeFailed
	}
	switch errno {
	case unix.ENOENT, unix.ENOTDIR:
		return CodeNotFound // e.g. a script whose interpreter is missing
	case unix.EACCES, unix.EPERM, unix.ENOEXEC, unix.EISDIR, unix.E2BIG, unix.ETXTBSY,
		unix.ELOOP, unix.ENAMETOOLONG:
		return CodeNotExecutable
	}
	return CodeFailed
}

// execChild replaces hush by the child. Every descriptor above 2 but keep is
// closed on exec; keep stay at their numbers.
func execChild(path string, argv []string, env Environ, dir string, keep []*os.File) error {
	if err := closeOnExecAll(); err != nil {
		return err
	}
	for _, f := range keep {
		if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("keep descriptor %d: %w", f.Fd(), err)
		}
	}
	if dir != "" {
		if err := os.Chdir(dir); err != nil {
			return err
		}
	}
	err := syscall.Exec(path, argv, env)
	return &os.PathError{Op: "exec", Path: path, Err: err}
}
