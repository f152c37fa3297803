package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"
)

// errNoTTY means a prompt was needed but no terminal is available.
var errNoTTY = errors.New("no terminal to prompt on")

// promptSecret asks for a value on /dev/tty without echo, never on stdout.
// An interrupt restores the terminal before hush exits.
func promptSecret(prompt string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errNoTTY
	}
	defer tty.Close()
	fd := int(tty.Fd())
	if !term.IsTerminal(fd) {
		return "", errNoTTY
	}
	state, err := term.GetState(fd)
	if err != nil {
		return "", errNoTTY
	}
	// An interrupt while echo is off must not leave the terminal without
	// echo: restore it, then die of the signal as hush would have.
	stop := restoreOnSignal(fd, state, tty)
	defer stop()
	printf(tty, "%s", prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("read from terminal: %w", err)
	}
	return string(b), nil
}

// confirm asks a yes/no question on /dev/tty.
func confirm(question string) (bool, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false, errNoTTY
	}
	defer tty.Close()
	printf(tty, "%s [y/N] ", question)
	var buf [64]byte
	n, _ := tty.Read(buf[:])
	ans := string(buf[:n])
	return len(ans) > 0 && (ans[0] == 'y' || ans[0] == 'Y'), nil
}
