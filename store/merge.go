package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/hush-secrets/hush/crypt"
)

// Conflict is a key changed differently on both sides of a merge. Either
// side may be nil: deleted there.
type Conflict struct {
	Ours   *Secret `json:"ours"`
	Theirs *Secret `json:"theirs"`
	// Older says their side took the key back to an older version of
	// itself (see rollsBack), not a change of their own.
	Older bool `json:"older,omitempty"`
}

// Merge3 merges two documents derived from base, key by key. A key changed
// on one side only takes that side's version (deletions included); a key
// changed identically on both sides merges cleanly; a key changed
// differently on both is a conflict, and the result keeps ours for it.
// A key the incoming side (see Incoming) took back to an older version of
// itself is a conflict too (Older), never a clean change: see rollsBack.
func Merge3(base, ours, theirs *Document, in Incoming) (*Document, map[string]Conflict) {
	out := NewDocument(ours.Environment)
	conflicts := map[string]Conflict{}
	names := map[string]bool{}
	for _, d := range []*Document{base, ours, theirs} {
		for n := range d.Secrets {
			names[n] = true
		}
	}
	for n := range names {
		b, o, t := base.Secrets[n], ours.Secrets[n], theirs.Secrets[n]
		var pick *Secret
		switch {
		case sameSecret(o, t):
			pick = o
		case in == IncomingTheirs && sameSecret(b, o) && rollsBack(b, t),
			in == IncomingOurs && sameSecret(b, t) && rollsBack(b, o):
			conflicts[n] = Conflict{Ours: o, Theirs: t, Older: true}
			pick = o
		case sameSecret(b, o):
			pick = t
		case sameSecret(b, t):
			pick = o
		default:
			conflicts[n] = Conflict{Ours: o, Theirs: t}
			pick = o
		}
		if pick != nil {
			out.Secrets[n] = pick
		}
	}
	return out, conflicts
}

// Incoming names the side of a merge that brings in commits the user did
// not write — whose rollbacks Merge3 asks about.
type Incoming int

const (
	// IncomingNone: both sides are the user's choice (a revert goes back
	// on purpose; a stash is the user's own).
	IncomingNone Incoming = iota
	// IncomingTheirs: a merge or git pull, a cherry-pick.
	IncomingTheirs
	// IncomingOurs: a rebase, where ours is the upstream being rebased onto.
	IncomingOurs
)

// IncomingFor is the incoming side of git operation op (gitmerge's Op).
func IncomingFor(op string) Incoming {
	switch op {
	case "revert", "stash":
		return IncomingNone
	case "rebase":
		return IncomingOurs
	}
	return IncomingTheirs
}

// rollsBack says t, the incoming side's version of a key, is older than b, the
// merge base's: written before it, rotated before it, or without a
// compromise or exposure mark b carries on the same value. A writer who
// read base and changed the key leaves it newer, so this is a version from
// history put back — a replayed blob (anyone who can push can copy an old
// .hush/ENV.age: it continues the lineage) or a git revert. Either way it
// can bring back a credential that was rotated away, or drop the mark that
// says it leaked, so the user decides: it is a conflict, not a clean pick.
// A dismissal on their side (hush dismiss) drops a mark too and is asked
// about the same way, which costs one hush resolve.
func rollsBack(b, t *Secret) bool {
	if b == nil || t == nil {
		return false
	}
	if t.Updated.Before(b.Updated) || t.Rotated.Before(b.Rotated) {
		return true
	}
	if b.Value != t.Value {
		return false
	}
	if !b.Compromised.IsZero() && t.Compromised.IsZero() {
		return true
	}
	for _, e := range b.Exposed {
		if !slices.ContainsFunc(t.Exposed, func(x Exposure) bool { return x.To == e.To && x.Since.Equal(e.Since) }) {
			return true
		}
	}
	return false
}

func sameSecret(a, b *Secret) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// MergedRecipients decides whom a merged store is encrypted to, from env's
// recipients in the merge base, on our side and on their side (each read
// from that commit's hush.yaml), and the set this user pinned for env.
//
// The rule, per recipient key:
//
//  1. Three ways: kept when both sides have it, or when one side added it
//     since base (absent from base, present on that side). A removal on
//     either side wins: present in base and missing from one side drops it,
//     so a member removal is never undone by a merge.
//  2. Pinned: of those, only keys in the user's pinned set are kept. A merge
//     never encrypts to anyone recipient pinning would refuse to a hush set;
//     a legitimate addition from the other side waits for hush member ack
//     and the next write.
//  3. No pin yet (the user never wrote to env in this project): there is no
//     acknowledged set to trust, so nothing one-sided is trusted either —
//     only keys on both sides (ours ∩ theirs) are kept. Trusting either
//     side's additions would let a pushed commit choose a recipient; the
//     intersection still applies every removal, and loses nothing that a
//     later write after hush member ack cannot add back.
//
// notAcked lists the keys rule 1 keeps and rule 2 or 3 leaves out, for a
// warning. The result is sorted by label; an empty result is the caller's
// to refuse (nobody left to encrypt to).
func MergedRecipients(base, ours, theirs, pinned []Recipient, havePin bool) (kept, notAcked []Recipient) {
	seen := map[string]bool{}
	for _, side := range [][]Recipient{ours, theirs} {
		for _, r := range side {
			k := crypt.CanonicalRecipient(r.Key)
			if seen[k] {
				continue
			}
			seen[k] = true
			inBase, inOurs, inTheirs := hasKey(base, k), hasKey(ours, k), hasKey(theirs, k)
			threeWay := (inOurs && inTheirs) || (!inBase && (inOurs || inTheirs))
			if !threeWay {
				continue // removed on one side since base
			}
			acked := inOurs && inTheirs
			if havePin {
				acked = hasKey(pinned, k)
			}
			if acked {
				kept = append(kept, r)
			} else {
				notAcked = append(notAcked, r)
			}
		}
	}
	byLabel := func(rs []Recipient) {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Label < rs[j].Label })
	}
	byLabel(kept)
	byLabel(notAcked)
	return kept, notAcked
}

// ConflictNames lists conflicting keys, sorted.
func ConflictNames(c map[string]Conflict) []string {
	out := make([]string, 0, len(c))
	for n := range c {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// conflictDoc is what a merge leaves for `hush resolve`: both sides of each
// conflicting key, encrypted like the store itself.
type conflictDoc struct {
	Version     int    `json:"version"`
	Environment string `json:"environment"`
	// Lineage and Previous are the store's (lineage.go): a conflict file
	// someone without the store's lineage wrote is refused, so hush
	// resolve --theirs cannot pick a planted value.
	Lineage   string              `json:"lineage,omitempty"`
	Previous  string              `json:"previous_lineage,omitempty"`
	Conflicts map[string]Conflict `json:"conflicts"`
}

// ConflictPath is where a merge keeps the unresolved keys of env.
func (p *Project) ConflictPath(env string) string {
	return p.Dir() + "/." + env + ".conflict.age"
}

// WriteConflicts stores conflicts for env, encrypted to rcpts, with the
// lineage of of, the store document they belong to; or removes the file
// when there are none.
func (p *Project) WriteConflicts(env string, conflicts map[string]Conflict, rcpts []Recipient, of *Document) error {
	path := p.ConflictPath(env)
	if len(conflicts) == 0 {
		return removeIfExists(path)
	}
	// The version follows the document's rule: 2 only for binary values.
	version := formatText
	for _, c := range conflicts {
		for _, sec := range []*Secret{c.Ours, c.Theirs} {
			if sec != nil && binary(string(sec.Value)) {
				version = FormatVersion
			}
		}
	}
	cd := conflictDoc{Version: version, Environment: env, Conflicts: conflicts}
	if of != nil {
		cd.Lineage, cd.Previous = of.Lineage, of.Previous
	}
	plain, err := json.Marshal(cd)
	if err != nil {
		return err
	}
	ages, err := ageRecipients(env, rcpts)
	if err != nil {
		return err
	}
	ct, err := crypt.Encrypt(plain, ages...)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, ct)
}

// ReadConflicts returns the unresolved keys of env (none: an empty map).
func (p *Project) ReadConflicts(env string, id *crypt.Identity) (map[string]Conflict, error) {
	ct, err := ReadFileNoFollow(p.ConflictPath(env), maxStoreFile)
	if err != nil {
		if isNotExist(err) {
			return map[string]Conflict{}, nil
		}
		return nil, err
	}
	plain, err := crypt.Decrypt(ct, id.Identity)
	if err != nil {
		return nil, fmt.Errorf("conflicts of %s: %w", env, err)
	}
	var cd conflictDoc
	if err := json.Unmarshal(plain, &cd); err != nil || (cd.Version != formatText && cd.Version != FormatVersion) || cd.Environment != env {
		return nil, fmt.Errorf("%w: conflicts of %s: not a hush conflict file for this environment", ErrIntegrity, env)
	}
	if !validLineage(cd.Lineage) || !validLineage(cd.Previous) {
		return nil, fmt.Errorf("%w: conflicts of %s: the lineage is malformed", ErrIntegrity, env)
	}
	if _, err := p.checkLineage(env, &Document{Lineage: cd.Lineage, Previous: cd.Previous}); err != nil {
		var fe *ForgedError
		if errors.As(err, &fe) {
			fe.What = "the saved merge conflicts (" + p.ConflictPath(env) + ")"
		}
		return nil, err
	}
	if cd.Conflicts == nil {
		cd.Conflicts = map[string]Conflict{}
	}
	return cd.Conflicts, nil
}
