package store

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/hush-secrets/hush/crypt"
)

// Conflict is a key changed differently on both sides of a merge. Either
// side may be nil: deleted there.
type Conflict struct {
	Ours   *Secret `json:"ours"`
	Theirs *Secret `json:"theirs"`
}

// Merge3 merges two documents derived from base, key by key. A key changed
// on one side only takes that side's version (deletions included); a key
// changed identically on both sides merges cleanly; a key changed
// differently on both is a conflict, and the result keeps ours for it.
func Merge3(base, ours, theirs *Document) (*Document, map[string]Conflict) {
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

func sameSecret(a, b *Secret) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// MergeRecipients merges recipient lists three ways: a recipient stays when
// both sides keep it, is added when one side added it, and is removed when
// either side removed it — so a removal is never undone by a merge.
func MergeRecipients(base, ours, theirs []Recipient) []Recipient {
	inSet := func(set []Recipient, k string) bool { return hasKey(set, k) }
	var out []Recipient
	seen := map[string]bool{}
	for _, side := range [][]Recipient{ours, theirs} {
		for _, r := range side {
			k := crypt.CanonicalRecipient(r.Key)
			if seen[k] {
				continue
			}
			inBase, inOurs, inTheirs := inSet(base, k), inSet(ours, k), inSet(theirs, k)
			keep := (inOurs && inTheirs) || (!inBase && (inOurs || inTheirs))
			if keep {
				seen[k] = true
				out = append(out, r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
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
	Version     int                 `json:"version"`
	Environment string              `json:"environment"`
	Conflicts   map[string]Conflict `json:"conflicts"`
}

// ConflictPath is where a merge keeps the unresolved keys of env.
func (p *Project) ConflictPath(env string) string {
	return p.Dir() + "/." + env + ".conflict.age"
}

// WriteConflicts stores conflicts for env, encrypted to rcpts, or removes
// the file when there are none.
func (p *Project) WriteConflicts(env string, conflicts map[string]Conflict, rcpts []Recipient) error {
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
	plain, err := json.Marshal(conflictDoc{Version: version, Environment: env, Conflicts: conflicts})
	if err != nil {
		return err
	}
	ages, err := parseRecipients(env, rcpts)
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
	if cd.Conflicts == nil {
		cd.Conflicts = map[string]Conflict{}
	}
	return cd.Conflicts, nil
}
