package sync

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/hush-secrets/hush/store"
)

// Kind is what happened to a key on one side since the last sync.
type Kind int

const (
	Added Kind = iota + 1
	Changed
	Removed
)

func (k Kind) String() string {
	switch k {
	case Added:
		return "added"
	case Changed:
		return "changed"
	case Removed:
		return "removed"
	}
	return "?"
}

// Change is one key's change on one side. It names the key, never a value.
type Change struct {
	Key  string `json:"key"`
	Kind Kind   `json:"-"`
}

// Diff is the three-way comparison of a local environment, its remote
// snapshot, and the state both had when they were last synced.
type Diff struct {
	Local  []Change // changed here only, sorted by key
	Remote []Change // changed remotely only, sorted by key
	// Conflicts lists keys both sides changed, to different results.
	Conflicts []string
}

// Status summarises a diff the way git does a branch and its upstream.
type Status string

const (
	InStep   Status = "in step"
	Ahead    Status = "ahead"    // local changes to push
	Behind   Status = "behind"   // remote changes to pull
	Diverged Status = "diverged" // both, or conflicts
)

// Status says whether a push, a pull, both or neither is needed.
func (d *Diff) Status() Status {
	switch l, r := len(d.Local) > 0, len(d.Remote) > 0; {
	case len(d.Conflicts) > 0 || l && r:
		return Diverged
	case l:
		return Ahead
	case r:
		return Behind
	}
	return InStep
}

// Hasher computes the keyed hashes the sync state records instead of
// values: HMAC-SHA256 over the environment, the key and the value, so the
// state file tells changes apart without revealing or confirming a value to
// anyone who lacks the user's identity.
type Hasher struct{ key []byte }

// NewHasher returns a hasher keyed with key (crypt.Identity.DeriveKey).
func NewHasher(key []byte) *Hasher { return &Hasher{key: append([]byte(nil), key...)} }

// Sum is the hex hash of one key's value in env.
func (h *Hasher) Sum(env, key string, v store.Value) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(env))
	m.Write([]byte{0})
	m.Write([]byte(key))
	m.Write([]byte{0})
	m.Write([]byte(v.Reveal()))
	return hex.EncodeToString(m.Sum(nil))
}

// Compare is the three-way comparison of local and remote against base,
// the hashes recorded at the last sync (nil or empty: never synced, so a
// key present on both sides with different values is a conflict).
func Compare(h *Hasher, env string, local map[string]store.Value, remote *Snapshot, base map[string]string) *Diff {
	d := &Diff{}
	for _, k := range unionKeys(local, remote.Values, base) {
		lv, lok := local[k]
		rv, rok := remote.Values[k]
		if lok == rok && (!lok || lv.Reveal() == rv.Reveal()) {
			continue // same on both sides, whatever happened
		}
		bh, bok := base[k]
		lChanged := lok != bok || lok && h.Sum(env, k, lv) != bh
		rChanged := rok != bok || rok && h.Sum(env, k, rv) != bh
		switch {
		case lChanged && rChanged:
			d.Conflicts = append(d.Conflicts, k)
		case lChanged:
			d.Local = append(d.Local, Change{Key: k, Kind: kindOf(lok, bok)})
		case rChanged:
			d.Remote = append(d.Remote, Change{Key: k, Kind: kindOf(rok, bok)})
		}
	}
	return d
}

func kindOf(present, inBase bool) Kind {
	switch {
	case !present:
		return Removed
	case !inBase:
		return Added
	}
	return Changed
}

func unionKeys[V, W, X any](a map[string]V, b map[string]W, c map[string]X) []string {
	seen := make(map[string]bool, len(a)+len(b))
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	for k := range c {
		seen[k] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Prefer says which side wins a conflict.
type Prefer string

const (
	PreferNone   Prefer = ""
	PreferLocal  Prefer = "local"
	PreferRemote Prefer = "remote"
)

// ParsePrefer checks a --prefer value.
func ParsePrefer(s string) (Prefer, error) {
	switch p := Prefer(s); p {
	case PreferNone, PreferLocal, PreferRemote:
		return p, nil
	}
	return "", fmt.Errorf("%w --prefer %q: use local or remote", store.ErrInvalid, s)
}

// ConflictError names the keys both sides changed. It wraps ErrConflict.
type ConflictError struct {
	Env  string
	Keys []string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s: both sides changed %s since the last sync; nothing was written", e.Env, strings.Join(e.Keys, ", "))
}

func (e *ConflictError) Unwrap() error { return ErrConflict }

// PushPlan is the plan that takes the local changes (and, with prefer
// local, the local side of each conflict) to the remote. Remote-only
// changes are left alone. Unresolved conflicts are a *ConflictError.
func (d *Diff) PushPlan(env string, local map[string]store.Value, remote *Snapshot, prefer Prefer) (*Plan, error) {
	if len(d.Conflicts) > 0 && prefer == PreferNone {
		return nil, &ConflictError{Env: env, Keys: d.Conflicts}
	}
	p := &Plan{Base: remote, Set: map[string]store.Value{}}
	apply := func(k string) {
		if v, ok := local[k]; ok {
			p.Set[k] = v
		} else {
			p.Delete = append(p.Delete, k)
		}
	}
	for _, c := range d.Local {
		apply(c.Key)
	}
	if prefer == PreferLocal {
		for _, k := range d.Conflicts {
			apply(k)
		}
	}
	sort.Strings(p.Delete)
	return p, nil
}

// PullChanges is the change that takes the remote changes (and, with prefer
// remote, the remote side of each conflict) to the local store: values to
// set and keys to delete. Local-only changes are left alone.
func (d *Diff) PullChanges(env string, remote *Snapshot, prefer Prefer) (set map[string]store.Value, del []string, err error) {
	if len(d.Conflicts) > 0 && prefer == PreferNone {
		return nil, nil, &ConflictError{Env: env, Keys: d.Conflicts}
	}
	set = map[string]store.Value{}
	apply := func(k string) {
		if v, ok := remote.Values[k]; ok {
			set[k] = v
		} else {
			del = append(del, k)
		}
	}
	for _, c := range d.Remote {
		apply(c.Key)
	}
	if prefer == PreferRemote {
		for _, k := range d.Conflicts {
			apply(k)
		}
	}
	return set, del, nil
}

// NewBase is the state to record after a push or pull: a key both sides
// now hold with one value is synced at that value; a key neither holds is
// forgotten; any other key keeps the hash it had, so a change left on one
// side (a conflict not resolved, a remote change not pulled) is still seen
// as one next time.
func NewBase(h *Hasher, env string, local, remote map[string]store.Value, old map[string]string) map[string]string {
	out := make(map[string]string, len(local))
	for _, k := range unionKeys(local, remote, old) {
		lv, lok := local[k]
		rv, rok := remote[k]
		switch {
		case lok && rok && lv.Reveal() == rv.Reveal():
			out[k] = h.Sum(env, k, lv)
		case !lok && !rok:
		default:
			if b, ok := old[k]; ok {
				out[k] = b
			}
		}
	}
	return out
}
