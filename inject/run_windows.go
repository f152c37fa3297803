package inject

import (
	"errors"
	"os"
	"os/exec"
)

// ForwardedSignals is empty on Windows: console control events reach every
// process attached to the console, the child included, without hush.
var ForwardedSignals []os.Signal

func notifySignals() (<-chan os.Signal, func()) { return make(chan os.Signal), func() {} }

type forwarder struct{}

func newForwarder(pty, ttyOut *os.File) *forwarder { return &forwarder{} }
func (f *forwarder) forward(os.Signal) bool        { return false }
func (f *forwarder) close()                        {}

func terminate(p *os.Process) error { return p.Kill() }

func signalNumber(*os.ProcessState) (int, bool) { return 0, false }

func closeOnExecAll() error { return nil }

// lookPath uses Windows' own search (PATHEXT, the current directory refused
// as Go does), in hush's PATH: Windows resolves the program before the
// child's environment exists.
func lookPath(file string, _ Environ) (string, error) {
	p, err := exec.LookPath(file)
	if err != nil {
		return "", ErrNotFound
	}
	return p, nil
}

func classify(err error) int {
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, os.ErrNotExist):
		return CodeNotFound
	case errors.Is(err, ErrNotExecutable), errors.Is(err, os.ErrPermission):
		return CodeNotExecutable
	}
	return CodeFailed
}

// execChild is never reached: Run always supervises on Windows.
func execChild(string, []string, Environ, string, []*os.File) error {
	return errors.New("exec is not supported on windows")
}
