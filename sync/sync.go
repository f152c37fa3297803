// Package sync keeps a hush environment and a remote secret store in step,
// both ways, without losing a change. A remote store is a Backend (see
// sync/vault); this package holds what is common to all of them: the
// snapshot and plan types, the three-way comparison against the state last
// synced, and that state, kept in the user's personal data directory.
//
// The standard library's sync package is imported as gosync where both are
// needed.
package sync

import (
	"context"
	"errors"
	"time"

	"github.com/hush-secrets/hush/store"
)

var (
	// ErrConflict means the remote changed under a write (a check-and-set
	// mismatch), or both sides changed the same key differently. It is
	// store.ErrConflict, so both map to one exit code.
	ErrConflict = store.ErrConflict
	// ErrUnavailable means the remote could not be reached, answered with
	// server errors after every retry, or refused the credentials.
	ErrUnavailable = errors.New("remote unavailable")
	// ErrDenied means the remote refused the credentials or the operation.
	// It wraps ErrUnavailable: for exit codes both are "unavailable or
	// denied".
	ErrDenied = &deniedError{}
	// ErrDeleted means the latest version of the remote secret is deleted
	// (but not destroyed). It wraps ErrConflict: it is not an empty secret,
	// and hush refuses to guess whether it should be restored or emptied.
	ErrDeleted = &deletedError{}
	// ErrNoEngine means the remote store that would hold env does not
	// exist (for Vault: no secrets engine is mounted at the mount). It
	// wraps store.ErrNotFound.
	ErrNoEngine = &noEngineError{}
)

type noEngineError struct{}

func (*noEngineError) Error() string { return store.ErrNotFound.Error() }
func (*noEngineError) Unwrap() error { return store.ErrNotFound }

type deniedError struct{}

func (*deniedError) Error() string { return "permission denied" }
func (*deniedError) Unwrap() error { return ErrUnavailable }

type deletedError struct{}

func (*deletedError) Error() string { return "latest version is deleted" }
func (*deletedError) Unwrap() error { return ErrConflict }

// PartialError is a push that failed after part of its plan was written
// and answered (a layout with one remote object per key). Written is what
// the remote is known to hold now: the plan's base with exactly the writes
// and deletions Vault confirmed, so the sync state can record those and
// nothing else. A write whose answer never came is not in it: the next
// sync compares that key afresh.
type PartialError struct {
	Err error
	// Written is the base with the confirmed changes applied; Set and
	// Deleted name them.
	Written      *Snapshot
	Set, Deleted []string
	// Planned is the number of changes the plan held.
	Planned int
}

func (e *PartialError) Error() string { return e.Err.Error() }
func (e *PartialError) Unwrap() error { return e.Err }

// Snapshot is one environment as a backend holds it.
type Snapshot struct {
	// Values maps each key to its value. A key whose latest version is
	// deleted is absent here and listed in DeletedKeys.
	Values map[string]store.Value
	// Version identifies the state of the whole snapshot: for a layout with
	// one remote object per environment, that object's version (0: it does
	// not exist yet). Backends without versions leave it 0.
	Version int
	// Versions holds per-key versions for layouts with one remote object per
	// key, deleted keys included, so a push can check-and-set each.
	Versions map[string]int
	// Deleted says the environment's one remote object exists but its
	// latest version is deleted: Values is then empty, and that is not the
	// same as an environment without secrets.
	Deleted bool
	// Destroyed says the deleted latest version is destroyed: it cannot be
	// undeleted.
	Destroyed bool
	// DeletedKeys lists keys whose own latest version is deleted (layouts
	// with one remote object per key).
	DeletedKeys []string
	// Missing says the remote holds nothing at all for env: no object, no
	// versions, no metadata (never written, or removed whole: metadata
	// deleted, a dev server restarted empty). It is not a deletion of
	// every key, and a sync that remembers env there refuses to read it as
	// one.
	Missing bool
}

// NewSnapshot returns an empty snapshot of a remote that has nothing yet.
func NewSnapshot() *Snapshot {
	return &Snapshot{Values: map[string]store.Value{}, Versions: map[string]int{}}
}

// Plan is a change to apply to a remote snapshot.
type Plan struct {
	// Base is the snapshot the plan was computed from. A push must change
	// the remote only if it still is at Base's versions.
	Base *Snapshot
	// Set holds keys to create or change, with their new values.
	Set map[string]store.Value
	// Delete lists keys to remove.
	Delete []string
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Set) == 0 && len(p.Delete) == 0 }

// Result applies the plan to its base's values and returns the values the
// remote holds after a successful push.
func (p *Plan) Result() map[string]store.Value {
	out := make(map[string]store.Value, len(p.Base.Values)+len(p.Set))
	for k, v := range p.Base.Values {
		out[k] = v
	}
	for k, v := range p.Set {
		out[k] = v
	}
	for _, k := range p.Delete {
		delete(out, k)
	}
	return out
}

// Backend is a remote secret store holding hush environments. Every
// method is safe to call from one goroutine at a time; errors never carry a
// secret value or a credential.
type Backend interface {
	// Location names where env lives (for Vault: mount and path), for
	// messages and for the sync state, which is void when it changes. It
	// holds no secret and does no I/O.
	Location(env string) string

	// Pull reads env's snapshot. It MUST return a non-nil snapshot with
	// non-nil Values when the remote has nothing for env yet (Version 0),
	// and then set Missing; MUST report a deleted latest version through
	// Deleted or DeletedKeys rather than as missing or empty; MUST return
	// an error wrapping ErrNoEngine when the store env would live in does
	// not exist, and one wrapping ErrUnavailable when the remote cannot be
	// reached or refuses access.
	Pull(ctx context.Context, env string) (*Snapshot, error)

	// Push applies plan to env. It MUST write only if the remote is still
	// at plan.Base's versions (check-and-set) and otherwise return an error
	// wrapping ErrConflict having changed nothing of what it checked. When
	// the answer to a committed write is lost and a retry of it is then
	// refused by the check-and-set, Push MUST read the remote back and
	// recognise its own write (same contents at a newer version) rather
	// than report a conflict. It MUST retry rate limits and server errors
	// a bounded number of times, then fail wrapping ErrUnavailable. On
	// success it returns the snapshot the remote now holds. A layout that
	// needs several writes MAY leave part of the plan applied when cut
	// off; pulling again and pushing the new plan then converges.
	Push(ctx context.Context, env string, plan *Plan) (*Snapshot, error)
}

// Lease is a dynamic secret: credentials the remote made for this caller,
// valid for Duration unless renewed, revoked when no longer needed.
type Lease struct {
	ID        string
	Duration  time.Duration
	Renewable bool
	// Token marks the backend's own login token (ID TokenLeaseID), kept
	// alive like a lease because every lease it issued dies with it.
	Token bool
	// Increment is what a renewal asks for; zero means Duration. A token
	// found part-way through its life asks for its full TTL again, not
	// for what was left of it.
	Increment time.Duration
	// Fields are the secret's fields as text: strings as they are, lists
	// of strings one per line, anything else as JSON.
	Fields map[string]store.Value
}

// Leaser is the optional ability of a backend to issue, renew and revoke
// dynamic secrets. Find it by type assertion on a Backend.
type Leaser interface {
	// Lease reads path, or writes params to it when params is not empty,
	// and returns the secret it answers with. It MUST fail when the answer
	// carries no lease, so a static secret is never mistaken for one.
	Lease(ctx context.Context, path string, params map[string]string) (*Lease, error)
	// Renew extends the lease by increment (a hint the remote may cap) and
	// returns its new duration.
	Renew(ctx context.Context, leaseID string, increment time.Duration) (time.Duration, error)
	// Revoke ends the lease now. Revoking a lease that is already gone is
	// not an error.
	Revoke(ctx context.Context, leaseID string) error
}
