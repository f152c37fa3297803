package sync

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
)

// Syncer keeps one environment's team store and its place in a backend in
// step, remembering each sync in State.
type Syncer struct {
	Backend  Backend
	Project  *store.Project
	Env      string
	Identity *crypt.Identity
	Hasher   *Hasher
	State    *State
	Now      func() time.Time
}

// Report is a comparison: where, the versions involved, and the diff.
type Report struct {
	Env      string
	Location string
	// RemoteVersion is the remote snapshot's version, SyncedVersion the
	// one recorded at the last sync (0: never synced here).
	RemoteVersion, SyncedVersion int
	// RemoteDeleted says the remote's latest version is deleted.
	RemoteDeleted bool
	// Vanished, when not nil, says the remote lost env since the last
	// sync (see VanishedError): Diff is then empty.
	Vanished *VanishedError
	// Recreated says the remote's version is lower than the one last
	// synced: it was removed and written anew since. The last sync's
	// record no longer describes it, so Diff compares as on a first sync
	// (a key on one side only is an addition, never a deletion).
	Recreated bool
	Diff      *Diff

	remote *Snapshot
	local  map[string]store.Value
	state  *EnvState
	base   map[string]string // the hashes Diff was computed against
}

// Status is the report's status, or "remote deleted", or "remote
// vanished".
func (r *Report) Status() Status {
	if r.Vanished != nil {
		return "remote vanished"
	}
	if r.RemoteDeleted {
		return "remote deleted"
	}
	return r.Diff.Status()
}

// Result is what a push or pull changed, by key name.
type Result struct {
	*Report
	Set, Deleted []string
	// UnwrittenSet and UnwrittenDeleted, after a push that failed
	// part-way (*PartialError), name the planned changes not confirmed
	// written; Set and Deleted then name only the confirmed ones.
	UnwrittenSet, UnwrittenDeleted []string
	// Version is the remote version after the operation.
	Version int
}

// Values returns a document's values.
func Values(d *store.Document) map[string]store.Value {
	out := make(map[string]store.Value, len(d.Secrets))
	for k, s := range d.Secrets {
		out[k] = s.Value
	}
	return out
}

// Compare reads both sides and the state and compares them.
func (s *Syncer) Compare(ctx context.Context) (*Report, error) {
	remote, err := s.pull(ctx)
	if err != nil {
		return nil, err
	}
	doc, err := s.Project.Read(s.Env, store.Team, s.Identity)
	if err != nil {
		return nil, err
	}
	return s.report(remote, Values(doc))
}

// pull reads the remote snapshot; a store (mount) that is gone where the
// state remembers a sync is a *VanishedError.
func (s *Syncer) pull(ctx context.Context) (*Snapshot, error) {
	remote, err := s.Backend.Pull(ctx, s.Env)
	if err != nil {
		v, verr := s.vanished(nil, err)
		switch {
		case verr != nil:
			return nil, verr
		case v != nil:
			return nil, v
		}
		return nil, err
	}
	return remote, nil
}

func (s *Syncer) report(remote *Snapshot, local map[string]store.Value) (*Report, error) {
	loc := s.Backend.Location(s.Env)
	es, err := s.State.Load(s.Env, loc)
	if err != nil {
		return nil, err
	}
	r := &Report{Env: s.Env, Location: loc, RemoteVersion: remote.Version, SyncedVersion: es.Version,
		RemoteDeleted: remote.Deleted, remote: remote, local: local, state: es}
	if r.Vanished, err = s.vanished(remote, nil); err != nil {
		return nil, err
	}
	base := es.Hashes
	// One object per environment (no per-key versions): its version only
	// grows, unless it was removed and written anew.
	if !remote.Missing && len(remote.Versions) == 0 && es.Version > 0 && remote.Version < es.Version {
		r.Recreated, base = true, nil
	}
	r.base = base
	if remote.Deleted || r.Vanished != nil {
		r.Diff = &Diff{}
	} else {
		r.Diff = Compare(s.Hasher, s.Env, local, remote, base)
	}
	return r, nil
}

func (s *Syncer) deletedError(r *Report, pull bool) error {
	what := "push --prefer local writes the local store as a new version"
	if pull {
		what = "or push --prefer local to write the local store as a new version"
	}
	if r.remote.Destroyed {
		return fmt.Errorf("%s: version %d of %s: %w and destroyed; nothing was written (it cannot be undeleted: hush vault push --prefer local writes the local store as a new version)", s.Env, r.RemoteVersion, r.Location, ErrDeleted)
	}
	return fmt.Errorf("%s: version %d of %s: %w; nothing was written (undelete it in Vault, %s)", s.Env, r.RemoteVersion, r.Location, ErrDeleted, what)
}

// Push takes local changes to the backend (see Diff.PushPlan). The
// returned result names the keys it wrote or tried to write, also when
// the push failed, so the caller can record them.
func (s *Syncer) Push(ctx context.Context, prefer Prefer) (*Result, error) {
	r, err := s.Compare(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Report: r, Version: r.RemoteVersion}
	var plan *Plan
	if r.Vanished != nil {
		if prefer != PreferLocal {
			return res, r.Vanished
		}
		// Write the whole local store back: against a remote that holds
		// nothing, a check-and-set of version 0 (create only).
		plan = &Plan{Base: r.remote, Set: r.local}
	} else if r.RemoteDeleted {
		if prefer != PreferLocal {
			return res, s.deletedError(r, false)
		}
		// Overwrite the deleted version with the whole local store.
		plan = &Plan{Base: r.remote, Set: r.local}
	} else if plan, err = r.Diff.PushPlan(s.Env, r.local, r.remote, prefer); err != nil {
		return res, err
	}
	res.Set, res.Deleted = sortedKeys(plan.Set), plan.Delete
	after := r.remote
	if !plan.Empty() {
		if after, err = s.Backend.Push(ctx, s.Env, plan); err != nil {
			var pe *PartialError
			if !errors.As(err, &pe) || pe.Written == nil {
				return res, err
			}
			// Record what was written, and only that: those keys are in
			// step now, every other one keeps the hash it had, so the next
			// push sends the rest and a remote change made meanwhile to a
			// key written here is seen as the remote's, not as a conflict.
			res.UnwrittenSet, res.UnwrittenDeleted = minus(res.Set, pe.Set), minus(res.Deleted, pe.Deleted)
			res.Set, res.Deleted, res.Version = pe.Set, pe.Deleted, pe.Written.Version
			if serr := s.save(r, r.local, pe.Written); serr != nil {
				return res, fmt.Errorf("%w (and the sync state was not saved: %v)", err, serr)
			}
			return res, fmt.Errorf("%w (%d of %d changes written and recorded; pushing again sends the rest)", err, len(pe.Set)+len(pe.Deleted), pe.Planned)
		}
	}
	res.Version = after.Version
	return res, s.save(r, r.local, after)
}

// Pull takes remote changes into the team store, under its lock (which
// also enforces recipient pinning), as a rotation for changed values.
func (s *Syncer) Pull(ctx context.Context, prefer Prefer) (*Result, error) {
	remote, err := s.pull(ctx)
	if err != nil {
		return nil, err
	}
	var res *Result
	var local map[string]store.Value
	errUnchanged := errors.New("unchanged")
	err = s.Project.Update(s.Env, store.Team, s.Identity, func(d *store.Document) error {
		r, err := s.report(remote, Values(d))
		if err != nil {
			return err
		}
		res = &Result{Report: r, Version: remote.Version}
		if r.Vanished != nil {
			return r.Vanished
		}
		if r.RemoteDeleted {
			return s.deletedError(r, true)
		}
		set, del, err := r.Diff.PullChanges(s.Env, remote, prefer)
		if err != nil {
			return err
		}
		res.Set, res.Deleted = sortedKeys(set), del
		Apply(d, set, del, s.Now().UTC().Truncate(time.Second))
		local = Values(d)
		if len(set) == 0 && len(del) == 0 {
			return errUnchanged // rewriting would only churn the file
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	if err != nil {
		return res, err
	}
	return res, s.save(res.Report, local, remote)
}

func (s *Syncer) save(r *Report, local map[string]store.Value, remote *Snapshot) error {
	return s.State.Save(s.Env, &EnvState{
		Location: r.Location,
		Version:  remote.Version,
		Synced:   s.Now().UTC().Truncate(time.Second),
		Hashes:   NewBase(s.Hasher, s.Env, local, remote.Values, r.base),
	})
}

// Apply writes pulled changes into doc as hush set and hush rm would, by
// the one rule for a new value (store.Document.SetValue).
func Apply(d *store.Document, set map[string]store.Value, del []string, now time.Time) {
	for k, v := range set {
		d.SetValue(k, v, now)
	}
	for _, k := range del {
		delete(d.Secrets, k)
	}
}

// minus is the keys of all not in some, in order.
func minus(all, some []string) []string {
	in := make(map[string]bool, len(some))
	for _, k := range some {
		in[k] = true
	}
	var out []string
	for _, k := range all {
		if !in[k] {
			out = append(out, k)
		}
	}
	return out
}

func sortedKeys(m map[string]store.Value) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
