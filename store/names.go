package store

import (
	"fmt"
	"regexp"
)

var (
	envNameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	keyNameRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	projectNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// MaxValueSize is the largest secret value hush stores: 1 MiB. Environment
// variables that large already strain exec's argument space (ARG_MAX is
// typically 2 MiB for argv and environment together).
const MaxValueSize = 1 << 20

// maxNameLen keeps names sane for file names and environment blocks.
const maxNameLen = 128

// ValidEnvName reports whether name is a usable environment name.
func ValidEnvName(name string) error {
	if len(name) > 64 || !envNameRE.MatchString(name) {
		return fmt.Errorf("%w environment name %q: use lower-case letters, digits, '-' and '_', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}

// ValidKeyName reports whether name is a usable secret name: the
// portable environment variable names.
func ValidKeyName(name string) error {
	if len(name) > maxNameLen || !keyNameRE.MatchString(name) {
		return fmt.Errorf("%w key name %q: use letters, digits and '_', not starting with a digit", ErrInvalid, truncateName(name))
	}
	return nil
}

// ValidProjectName reports whether name is usable as a project name.
func ValidProjectName(name string) error {
	if len(name) > 64 || !projectNameRE.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("%w project name %q: use letters, digits, '.', '-' and '_'", ErrInvalid, name)
	}
	return nil
}

// ValidValue reports whether v can be stored and handed to a process.
func ValidValue(v string) error {
	if len(v) > MaxValueSize {
		return fmt.Errorf("%w value: %d bytes is over the 1 MiB limit", ErrInvalid, len(v))
	}
	for i := 0; i < len(v); i++ {
		if v[i] == 0 {
			return fmt.Errorf("%w value: it contains a NUL byte, which an environment variable cannot carry", ErrInvalid)
		}
	}
	return nil
}

func truncateName(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
