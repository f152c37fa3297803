package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/hush-secrets/hush/crypt"
)

// DecryptStore decrypts and decodes a team store's content as git holds it
// in a commit (hush log, hush rollback). Like DecryptFile it is all or
// nothing; an empty blob or one with git's conflict markers is an
// integrity failure.
func DecryptStore(ct []byte, env string, id *crypt.Identity) (*Document, error) {
	if len(ct) == 0 {
		return nil, fmt.Errorf("%w: the file is empty, not an age-encrypted store", ErrIntegrity)
	}
	if len(ct) > maxStoreFile {
		return nil, fmt.Errorf("%w: the file is larger than a store can be", ErrIntegrity)
	}
	if hasConflictMarkers(ct) {
		return nil, fmt.Errorf("%w: the file holds git's conflict markers (committed mid-merge)", ErrIntegrity)
	}
	if id == nil {
		return nil, fmt.Errorf("%w: no identity to decrypt %s", ErrNoIdentity, env)
	}
	plain, err := crypt.DecryptString(ct, id.Identity)
	if err != nil {
		return nil, err
	}
	return decodeDocument(plain, env)
}

// LineageTrust judges versions of env's team store taken from git history
// against this user's lineage pins. A version is trusted when its lineage
// is pinned, or when a trusted version names it as the lineage it
// replaced (a member removal since: the user never read the older one
// but a reader who did carried it on), transitively. A version without a
// lineage is trusted only while none is pinned (a project from before
// lineages). The pins are read once; nothing is pinned.
func (p *Project) LineageTrust(env string, versions []*Document) (func(*Document) bool, error) {
	pf, err := p.readPins()
	if err != nil {
		return nil, err
	}
	seen := pf.Lineage[env]
	trusted := map[string]bool{}
	for _, s := range seen {
		trusted[s] = true
	}
	for changed := true; changed; {
		changed = false
		for _, d := range versions {
			if d == nil || d.Lineage == "" || d.Previous == "" || !trusted[lineageSum(d.Lineage)] {
				continue
			}
			if ps := lineageSum(d.Previous); !trusted[ps] {
				trusted[ps], changed = true, true
			}
		}
	}
	return func(d *Document) bool {
		switch {
		case len(seen) == 0:
			return true // nothing pinned: a project from before lineages
		case d.Lineage == "":
			return false
		}
		return trusted[lineageSum(d.Lineage)] || d.Previous != "" && trusted[lineageSum(d.Previous)]
	}, nil
}

// FingerprintKey is the key of the value fingerprints hush log and hush
// inbox show, derived from d's lineage: a random value inside the
// encrypted store that every reader of the environment has and nobody
// else does. Fingerprints keyed by it are the same for every member (they
// can compare them in a ticket), and useless to anyone else: a short
// value cannot be brute-forced from one without the key. A member removal
// starts a new lineage, so a removed member cannot test guesses against
// fingerprints of the values set after it. It is nil for a store without
// a lineage.
func FingerprintKey(d *Document) []byte {
	if d == nil || d.Lineage == "" {
		return nil
	}
	m := hmac.New(sha256.New, []byte(d.Lineage))
	m.Write([]byte("hush value fingerprint v1"))
	return m.Sum(nil)
}

// Fingerprint is a short keyed hash of a value of key in env: equal
// values give equal fingerprints under one key, and nothing about the
// value can be learnt from it without the key.
func Fingerprint(key []byte, env, name string, v Value) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(env + "\x00" + name + "\x00" + v.Reveal()))
	return hex.EncodeToString(m.Sum(nil))[:12]
}
