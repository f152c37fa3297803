package forward

import (
	"os"

	"github.com/hush-secrets/hush/store"
)

// lockFile waits on Windows: a sender holds the lock for at most its
// timeout.
func lockFile(f *os.File, _ bool) error { return store.LockExclusive(f) }

// lstatMode is 0 on Windows, whose permissions are ACLs.
func lstatMode(string) (os.FileMode, error) { return 0, nil }
