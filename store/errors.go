// Package store keeps hush's secrets: it finds projects, reads and writes
// hush.yaml, encodes and decodes the per-environment secret document, writes
// files atomically under a lock, and layers a user's personal store over the
// team's. It imports crypt for encryption and nothing else of hush.
package store

import (
	"errors"

	"github.com/hush-secrets/hush/crypt"
)

var (
	// ErrNoProject means no .hush directory was found here or above.
	ErrNoProject = errors.New("not in a hush project (no .hush/ here or in any parent); run hush init")
	// ErrNotFound means a key or an environment does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means something to be created is already there.
	ErrExists = errors.New("already exists")
	// ErrInvalid means a name or value is not acceptable (a usage error).
	ErrInvalid = errors.New("invalid")
	// ErrIntegrity means a store file is corrupt, tampered with, bound to
	// another environment or of an unsupported format version. It is
	// crypt.ErrIntegrity, so both map to one exit code.
	ErrIntegrity = crypt.ErrIntegrity
	// ErrNoIdentity is crypt.ErrNoIdentity, re-exported for callers.
	ErrNoIdentity = crypt.ErrNoIdentity
	// ErrUnsafe means a store, lock or config file is a symlink or otherwise
	// not what hush created.
	ErrUnsafe = errors.New("unsafe file")
	// ErrConflict means a change collides with another one.
	ErrConflict = errors.New("conflict")
)
