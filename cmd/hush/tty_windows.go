package main

import (
	"os"

	"golang.org/x/term"
)

// restoreOnSignal: the console restores echo itself on Windows.
func restoreOnSignal(int, *term.State, *os.File) (stop func()) { return func() {} }
