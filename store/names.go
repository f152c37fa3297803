package store

import "fmt"

// The name grammars, as byte classes: a name is one byte of its first
// class followed by any number of its rest class. Checked by a loop, not a
// regexp, because every key of every document is checked on each read.
const (
	lower  = "abcdefghijklmnopqrstuvwxyz"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits = "0123456789"
)

var (
	envFirst, envRest         = byteClass(lower + digits), byteClass(lower + digits + "_-")
	keyFirst, keyRest         = byteClass(lower + upper + "_"), byteClass(lower + upper + digits + "_")
	projectFirst, projectRest = byteClass(lower + upper + digits), byteClass(lower + upper + digits + "._-")
)

type byteSet [256]bool

func byteClass(members string) *byteSet {
	var s byteSet
	for i := 0; i < len(members); i++ {
		s[members[i]] = true
	}
	return &s
}

// matches reports whether name is non-empty, starts with a byte of first
// and continues with bytes of rest.
func matches(name string, first, rest *byteSet) bool {
	if name == "" || !first[name[0]] {
		return false
	}
	for i := 1; i < len(name); i++ {
		if !rest[name[i]] {
			return false
		}
	}
	return true
}

// MaxValueSize is the largest secret value hush stores: 1 MiB. Environment
// variables that large already strain exec's argument space (ARG_MAX is
// typically 2 MiB for argv and environment together).
const MaxValueSize = 1 << 20

// maxNameLen keeps names sane for file names and environment blocks.
const maxNameLen = 128

// ValidEnvName reports whether name is a usable environment name.
func ValidEnvName(name string) error {
	if len(name) > 64 || !matches(name, envFirst, envRest) {
		return fmt.Errorf("%w environment name %q: use lower-case letters, digits, '-' and '_', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}

// ValidKeyName reports whether name is a usable secret name: the
// portable environment variable names.
func ValidKeyName(name string) error {
	if len(name) > maxNameLen || !matches(name, keyFirst, keyRest) {
		return fmt.Errorf("%w key name %q: use letters, digits and '_', not starting with a digit", ErrInvalid, truncateName(name))
	}
	return nil
}

// ValidProjectName reports whether name is usable as a project name.
func ValidProjectName(name string) error {
	if len(name) > 64 || !matches(name, projectFirst, projectRest) || name == "." || name == ".." {
		return fmt.Errorf("%w project name %q: use letters, digits, '.', '-' and '_'", ErrInvalid, name)
	}
	return nil
}

// validProjectID reports whether id is a project id as hush init makes
// them: 32 lower-case hex digits (128 bits).
func validProjectID(id string) error {
	ok := len(id) == 32
	for i := 0; ok && i < len(id); i++ {
		ok = hexDigit[id[i]]
	}
	if !ok {
		return fmt.Errorf("%w project id %q: want 32 lower-case hex digits, as hush init writes", ErrInvalid, truncateName(id))
	}
	return nil
}

var hexDigit = byteClass(digits + "abcdef")

// ValidValue reports whether v can be stored: any bytes, NUL and invalid
// UTF-8 included (the document keeps such a value base64-encoded, see
// Secret), up to MaxValueSize. Where a value goes next decides what else
// it must be: an environment variable cannot hold a NUL (inject refuses
// it, naming the key), a text export or Vault cannot hold invalid UTF-8.
func ValidValue(v string) error {
	if len(v) > MaxValueSize {
		return fmt.Errorf("%w value: %d bytes is over the 1 MiB limit", ErrInvalid, len(v))
	}
	return nil
}

func truncateName(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
