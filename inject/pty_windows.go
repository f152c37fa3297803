package inject

import (
	"errors"
	"os"
)

// No masking pseudo-terminal on Windows: masked output goes through pipes.
func isTerminal(*os.File) bool { return false }

func openPTY(*os.File) (master, slave *os.File, err error) {
	return nil, nil, errors.New("no pseudo-terminal on windows")
}

func inheritSize(from, to *os.File) error { return nil }
