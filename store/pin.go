package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hush-secrets/hush/crypt"
)

// Recipient pinning. age does not authenticate senders, and anyone who can
// push to the repository can add a recipient to hush.yaml; the next innocent
// `hush set` would then encrypt the team's secrets to them. So hush
// remembers, per user, the recipient set it last encrypted each environment
// to, and refuses to write when hush.yaml says otherwise until the user
// acknowledges the change (hush member ack).

// pinFile holds the pins of one project, in the user's personal data dir.
type pinFile struct {
	Envs map[string][]Recipient `json:"environments"`
}

// PinError is a write refused because an environment's recipients differ
// from the set this user last encrypted it to.
type PinError struct {
	Env     string
	Added   []Recipient
	Removed []Recipient
}

func (e *PinError) Error() string {
	var parts []string
	if len(e.Added) > 0 {
		parts = append(parts, "added "+labelList(e.Added))
	}
	if len(e.Removed) > 0 {
		parts = append(parts, "removed "+labelList(e.Removed))
	}
	return fmt.Sprintf("the recipients of %s changed since you last wrote to it (%s); check the change, then run: hush member ack --env %s",
		e.Env, strings.Join(parts, "; "), e.Env)
}

// Unwrap makes a PinError an ErrConflict (exit 6).
func (e *PinError) Unwrap() error { return ErrConflict }

func labelList(rs []Recipient) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s (%s)", r.Label, crypt.Fingerprint(r.Key))
	}
	return strings.Join(out, ", ")
}

func (p *Project) pinPath() string { return filepath.Join(p.PersonalDir(), "pins.json") }

func (p *Project) readPins() (*pinFile, error) {
	pf := &pinFile{Envs: map[string][]Recipient{}}
	b, err := ReadFileNoFollow(p.pinPath(), 4<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return pf, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, pf); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrIntegrity, p.pinPath(), err)
	}
	if pf.Envs == nil {
		pf.Envs = map[string][]Recipient{}
	}
	return pf, nil
}

// PinDiff compares env's recipients in hush.yaml with the pinned set. It
// returns nil when they agree or when nothing is pinned yet (trust on
// first use: the first write pins).
func (p *Project) PinDiff(env string) (*PinError, error) {
	pf, err := p.readPins()
	if err != nil {
		return nil, err
	}
	pinned, ok := pf.Envs[env]
	if !ok {
		return nil, nil
	}
	var current []Recipient
	if ec, ok := p.Config.Environments[env]; ok {
		current = ec.Recipients
	}
	added, removed := diffRecipients(pinned, current)
	if len(added) == 0 && len(removed) == 0 {
		return nil, nil
	}
	return &PinError{Env: env, Added: added, Removed: removed}, nil
}

// checkPin fails with a *PinError when env's recipients changed unseen.
func (p *Project) checkPin(env string) error {
	pe, err := p.PinDiff(env)
	if err != nil {
		return err
	}
	if pe != nil {
		return pe
	}
	return nil
}

// Pin records env's current recipients as the set this user encrypts to.
func (p *Project) Pin(envs ...string) error {
	pf, err := p.readPins()
	if err != nil {
		return err
	}
	for _, env := range envs {
		if ec, ok := p.Config.Environments[env]; ok {
			pf.Envs[env] = append([]Recipient(nil), ec.Recipients...)
		} else {
			delete(pf.Envs, env)
		}
	}
	b, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p.PersonalDir(), 0o700); err != nil {
		return err
	}
	return WriteFileAtomic(p.pinPath(), append(b, '\n'))
}

// diffRecipients lists recipients in b and not in a (added) and in a and
// not in b (removed), comparing canonical keys.
func diffRecipients(a, b []Recipient) (added, removed []Recipient) {
	in := func(set []Recipient, r Recipient) bool {
		k := crypt.CanonicalRecipient(r.Key)
		for _, s := range set {
			if crypt.CanonicalRecipient(s.Key) == k {
				return true
			}
		}
		return false
	}
	for _, r := range b {
		if !in(a, r) {
			added = append(added, r)
		}
	}
	for _, r := range a {
		if !in(b, r) {
			removed = append(removed, r)
		}
	}
	sort.Slice(added, func(i, j int) bool { return added[i].Label < added[j].Label })
	sort.Slice(removed, func(i, j int) bool { return removed[i].Label < removed[j].Label })
	return added, removed
}

// Pinned returns the recipients this user last encrypted env to, and
// whether there is such a pin.
func (p *Project) Pinned(env string) ([]Recipient, bool, error) {
	pf, err := p.readPins()
	if err != nil {
		return nil, false, err
	}
	rs, ok := pf.Envs[env]
	return rs, ok, nil
}

// FilterRecipients keeps the recipients of rs whose key is in allowed.
func FilterRecipients(rs, allowed []Recipient) (kept, dropped []Recipient) {
	for _, r := range rs {
		if hasKey(allowed, crypt.CanonicalRecipient(r.Key)) {
			kept = append(kept, r)
		} else {
			dropped = append(dropped, r)
		}
	}
	return kept, dropped
}
