//go:build unix

package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// restoreOnSignal restores the terminal state when INT, TERM or HUP
// arrives during a prompt, then lets the signal kill hush as it would have
// (so the shell sees 128+N).
func restoreOnSignal(fd int, state *term.State, tty *os.File) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			_ = term.Restore(fd, state)
			fmt.Fprintln(tty)
			signal.Reset(sig)
			_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}
