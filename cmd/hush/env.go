package main

import (
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/hush-secrets/hush/crypt"
)

// Env is everything hush takes from the outside world. Only realEnv touches
// the process's real streams and environment, so tests can run Main with
// their own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Environ        func() []string
	Getwd          func() (string, error)
	// StdinTTY and StdoutTTY say whether the streams are terminals.
	StdinTTY, StdoutTTY bool
	// StdinPiped says stdin is a pipe or a regular file that can carry a
	// value (not a terminal, not /dev/null, not closed).
	StdinPiped bool
	// Keyring is the OS keyring; nil means the system one.
	Keyring crypt.Keyring
	Now     func() time.Time

	// redact is what no message may show of the command line; Main sets
	// it (redact.go).
	redact []redaction
}

func realEnv() *Env {
	e := &Env{
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Getenv:  os.Getenv,
		Environ: os.Environ,
		Getwd:   os.Getwd,
		Now:     time.Now,
	}
	e.StdinTTY = term.IsTerminal(int(os.Stdin.Fd()))
	e.StdoutTTY = term.IsTerminal(int(os.Stdout.Fd()))
	if st, err := os.Stdin.Stat(); err == nil && !e.StdinTTY {
		m := st.Mode()
		e.StdinPiped = m&os.ModeNamedPipe != 0 || m.IsRegular() || m&os.ModeSocket != 0
	}
	return e
}
