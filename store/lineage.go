package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
)

// A team store is age-encrypted to public recipients, and age does not
// say who encrypted a file: anyone who can push could write a new
// .hush/<env>.age with values of their choosing. The lineage closes that
// to everyone who never could read the environment. It is a random value
// inside the encrypted document, created with the store and carried by
// every write (a write decrypts the store first, so only a recipient can
// carry it on). Each user pins hashes of the lineages they have read or
// written, per environment; a store whose lineage is none of them — and
// does not name one as the lineage it replaced — was not written by anyone
// who could read a version before, and is refused (exit 5).
//
// A member removal starts a new lineage and keeps the old as Previous, so
// readers follow the change; the old one stays pinned too, because git
// goes back to it (a reset, a branch from before the removal). What stays
// open: a current or removed member can still write a store that passes
// (they know a pinned lineage); the first read of a checkout trusts what
// it finds (trust on first use); and a hush from before lineages drops it
// when it writes, which the next reader reports.

// newLineage is a fresh lineage: 32 random bytes, hex.
func newLineage() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// validLineage says s is empty or a lineage as hush writes it.
func validLineage(s string) bool {
	if s == "" {
		return true
	}
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// lineageSum is what the pins keep of a lineage.
func lineageSum(l string) string {
	h := sha256.Sum256([]byte("hush lineage\x00" + l))
	return hex.EncodeToString(h[:])
}

// ForgedError is a team store, or a merge side, that does not continue
// the lineage this user last saw: an ErrIntegrity (exit 5).
type ForgedError struct {
	Env, What string
}

func (e *ForgedError) Error() string {
	return fmt.Sprintf("%s of %s was not written by anyone who could read its previous version (its lineage is none you have seen): someone with push access may have replaced it; check git log -p .hush/%s.age, then restore a version a member wrote (git checkout COMMIT -- .hush/%s.age) — if the environment was recreated on purpose, confirm with its members, then run: hush member ack --env %s",
		e.What, e.Env, e.Env, e.Env, e.Env)
}

func (e *ForgedError) Unwrap() error { return ErrIntegrity }

// maxLineages is how many lineages of one environment the pins keep: one
// per member removal seen, the oldest forgotten first.
const maxLineages = 16

// checkLineage judges d, env's team store as just read, against the pins.
// It returns the sum to pin ("" when nothing new is to be pinned).
func (p *Project) checkLineage(env string, d *Document) (repin string, err error) {
	pf, err := p.readPins()
	if err != nil {
		return "", err
	}
	seen := pf.Lineage[env]
	switch {
	case len(seen) == 0:
		if d.Lineage == "" {
			return "", nil // a store from before lineages, never pinned
		}
		return lineageSum(d.Lineage), nil // trust on first use
	case d.Lineage == "":
		return "", &ForgedError{Env: env, What: "the team store"}
	case slices.Contains(seen, lineageSum(d.Lineage)):
		return "", nil
	case d.Previous != "" && slices.Contains(seen, lineageSum(d.Previous)):
		return lineageSum(d.Lineage), nil // a member removal started a new one
	}
	return "", &ForgedError{Env: env, What: "the team store"}
}

// pinLineage adds sum to env's lineages. Unless the caller holds the
// project lock, it takes it, so the pin file is never written from a
// stale copy.
func (p *Project) pinLineage(env, sum string, locked bool) error {
	return p.updatePins(locked, func(pf *pinFile) bool {
		if slices.Contains(pf.Lineage[env], sum) {
			return false
		}
		if pf.Lineage == nil {
			pf.Lineage = map[string][]string{}
		}
		seen := append(pf.Lineage[env], sum)
		if len(seen) > maxLineages {
			seen = seen[len(seen)-maxLineages:]
		}
		pf.Lineage[env] = seen
		return true
	})
}

// VerifyLineage judges a document read from elsewhere (a merge's own
// side) against env's pin, without pinning anything.
func (p *Project) VerifyLineage(env string, d *Document) error {
	_, err := p.checkLineage(env, d)
	return err
}

// MergedLineage is the lineage of a merge of ours and theirs: the same
// one, or the side that started a new one from the other's (a member
// removal on that side). Sides of unrelated lineages are refused — one of
// them was not written by a reader of the other — and so is a side
// without one when ours has one.
func MergedLineage(env string, ours, theirs *Document) (lineage, previous string, err error) {
	switch {
	case ours.Lineage == "":
		return theirs.Lineage, theirs.Previous, nil
	case theirs.Lineage == ours.Lineage:
		return ours.Lineage, ours.Previous, nil
	case theirs.Lineage != "" && theirs.Previous == ours.Lineage:
		return theirs.Lineage, theirs.Previous, nil
	case ours.Previous != "" && ours.Previous == theirs.Lineage:
		return ours.Lineage, ours.Previous, nil
	}
	return "", "", &ForgedError{Env: env, What: "their side of the merge"}
}

// ForgetLineage drops the lineage pins of envs, so the next read takes the
// store as it is then (hush member ack, after a store was refused because
// it was recreated on purpose or written by a hush from before lineages).
func (p *Project) ForgetLineage(envs ...string) error {
	return p.updatePins(false, func(pf *pinFile) bool {
		for _, env := range envs {
			delete(pf.Lineage, env)
		}
		return true
	})
}
