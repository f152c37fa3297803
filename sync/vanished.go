package sync

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// VanishedError is a sync refused because the remote lost env: this
// machine synced it there (the sync state says so) but the remote now has
// nothing at all, not even a deleted version. Reading that as "every key
// was deleted" would empty the local store; hush refuses and changes
// nothing, and push --prefer local writes the local store back. It wraps
// ErrConflict (exit 6).
type VanishedError struct {
	Env, Location string
	// What says what the remote answered.
	What string
	// Keys, Version and Synced are what the last sync recorded.
	Keys    int
	Version int
	Synced  time.Time
	// NoEngine says the store itself (the Vault mount) is gone, which a
	// push cannot re-create.
	NoEngine bool
}

func (e *VanishedError) Error() string {
	when := ""
	if !e.Synced.IsZero() {
		when = " on " + e.Synced.UTC().Format("2006-01-02 15:04 UTC")
	}
	// The command group is the location's scheme (ssm://…), else vault.
	group := "vault"
	if scheme, _, ok := strings.Cut(e.Location, "://"); ok && scheme != "" && !strings.ContainsAny(scheme, "/ ") {
		group = scheme
	}
	fix := "to restore it from the local store: hush " + group + " push --prefer local --env " + e.Env
	if e.NoEngine {
		fix = "have the mount re-enabled, then restore it from the local store: hush " + group + " push --prefer local --env " + e.Env
	}
	return fmt.Sprintf("%s: %s vanished: %s, but this machine synced %d key(s) with it at version %d%s; that is not a deletion of every key, and nothing was changed (%s)",
		e.Env, e.Location, e.What, e.Keys, e.Version, when, fix)
}

func (e *VanishedError) Unwrap() error { return ErrConflict }

// vanished is the VanishedError for a remote snapshot or Pull error, when
// the state remembers a sync of env at loc; nil otherwise.
func (s *Syncer) vanished(remote *Snapshot, pullErr error) (*VanishedError, error) {
	noEngine := errors.Is(pullErr, ErrNoEngine)
	if pullErr != nil && !noEngine || pullErr == nil && !remote.Missing {
		return nil, nil
	}
	loc := s.Backend.Location(s.Env)
	es, err := s.State.Load(s.Env, loc)
	if err != nil {
		return nil, err
	}
	if es.Version == 0 && len(es.Hashes) == 0 {
		return nil, nil // never synced there: nothing to lose
	}
	v := &VanishedError{Env: s.Env, Location: loc, Keys: len(es.Hashes), Version: es.Version, Synced: es.Synced,
		What: "it has no versions and no metadata (removed with its metadata, or the server was reset)"}
	if noEngine {
		v.NoEngine = true
		v.What = "its mount is gone (no secrets engine is mounted there: disabled, or the server was reset)"
	}
	return v, nil
}
