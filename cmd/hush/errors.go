package main

import (
	"errors"
	"fmt"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	hsync "github.com/hush-secrets/hush/sync"
)

// Exit codes, as DESIGN.md lists them. Never renumber.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitNoIdentity  = 4
	exitIntegrity   = 5
	exitConflict    = 6
	exitPolicy      = 7
	exitUnavailable = 8
)

// usagef makes a command line hush cannot act on (exit 2); the type is
// the session's, which refuses bad input too.
var usagef = session.Usagef

// exitCodeError carries an explicit code, for commands whose code is not a
// kind of error (a child's exit status, a policy verdict).
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitCodeError) Unwrap() error { return e.err }

// exitCode is the one place that turns errors into exit codes.
func exitCode(err error) int {
	var ue *session.UsageError
	var ce *exitCodeError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &ue), errors.Is(err, store.ErrInvalid):
		return exitUsage
	case errors.Is(err, store.ErrNotFound):
		return exitNotFound
	case errors.Is(err, crypt.ErrNoIdentity):
		return exitNoIdentity
	case errors.Is(err, crypt.ErrIntegrity), errors.Is(err, audit.ErrChain):
		return exitIntegrity
	case errors.Is(err, hsync.ErrUnavailable), errors.Is(err, rotate.ErrUnavailable), errors.Is(err, crypt.ErrKeyService):
		return exitUnavailable
	case errors.Is(err, store.ErrConflict):
		return exitConflict
	}
	return exitError
}

// pinHint is the way out of a git textual conflict in a store, and of a
// recipient change the user did not expect: a
// recipient added by a pulled commit can be removed (removing is never
// blocked by pinning) or the commit reverted.
func pinHint(err error) string {
	var tc *store.TextConflictError
	if errors.As(err, &tc) {
		rel := tc.Path
		if top, r := git.Path(tc.Path); top != "" {
			rel = r
		}
		return fmt.Sprintf("set up hush's git drivers and redo the merge of that file: hush git setup && git checkout -m %s", safe.ShellWord(rel))
	}
	var pe *store.PinError
	if !errors.As(err, &pe) || len(pe.Added) == 0 {
		return ""
	}
	return fmt.Sprintf("not a change you expected? remove the recipient (hush member rm %s --env %s), or find the commit (git log -p .hush/hush.yaml) and undo it: git revert COMMIT",
		safe.ShellWord(store.Printable(pe.Added[0].Label)), pe.Env)
}
