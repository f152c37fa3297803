package edit

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// StartError is an editor that could not be started (not found, not
// executable).
type StartError struct {
	Prog string
	Err  error
}

func (e *StartError) Error() string { return fmt.Sprintf("start editor %q: %v", e.Prog, e.Err) }
func (e *StartError) Unwrap() error { return e.Err }

// Run runs the editor argv (from Command) on the terminal — /dev/tty when
// there is one, else the process's own streams — until it exits, and
// returns its exit error (an *exec.ExitError for a failed editor, a
// *StartError when it could not start).
//
// sigs are the signals the caller handles itself while an edit is open.
// INT, QUIT and PIPE arriving while the editor runs are the editor's (the
// terminal sends them to both, as git leaves them to its editor) and are
// dropped. Any other signal ends the edit: Run removes path, the
// plaintext buffer, at once, passes the signal on to the editor, waits
// for it to exit, and returns the signal (and a nil error).
func Run(argv []string, path string, sigs <-chan os.Signal) (os.Signal, error) {
	if len(argv) == 0 {
		return nil, &StartError{Err: fmt.Errorf("no editor")}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		defer tty.Close()
		cmd.Stdin, cmd.Stdout = tty, tty
	}
	if err := cmd.Start(); err != nil {
		return nil, &StartError{Prog: argv[0], Err: err}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			return nil, err
		case sig := <-sigs:
			switch sig {
			case syscall.SIGINT, syscall.SIGQUIT, syscall.SIGPIPE:
				continue
			}
			os.Remove(path)
			_ = cmd.Process.Signal(sig)
			<-done
			return sig, nil
		}
	}
}
