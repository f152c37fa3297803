package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/hush-secrets/hush/store"
)

// TextconvKey is one key of a store as git diff shows it: never the
// value, a short hash of it keyed from the user's identity (so a value
// cannot be guessed from its hash), and the metadata.
type TextconvKey struct {
	Name, Hash, Type, Rotated, RotateEvery string
	Exposed                                bool
}

// TextconvReport is a store for git diff.
type TextconvReport struct {
	Env  string
	Keys []TextconvKey
	// Unreadable says why the store cannot be shown ("" when it can): git
	// diff must go on working, so it is one line, not an error.
	Unreadable string
}

// Textconv reads the store at path for git's diff driver.
func (s *Session) Textconv(path string) (*TextconvReport, error) {
	id, err := s.Identity()
	if err != nil {
		return &TextconvReport{Unreadable: "no identity to decrypt this store"}, nil
	}
	doc, err := store.DecryptFile(path, "", id)
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return &TextconvReport{Unreadable: "cannot decrypt: " + msg}, nil
	}
	key, err := id.DeriveKey("git textconv")
	if err != nil {
		return nil, err
	}
	rep := &TextconvReport{Env: doc.Environment}
	for _, n := range doc.Names() {
		sec := doc.Secrets[n]
		m := hmac.New(sha256.New, key)
		m.Write([]byte(doc.Environment + "\x00" + n + "\x00" + sec.Value.Reveal()))
		k := TextconvKey{Name: n, Hash: hex.EncodeToString(m.Sum(nil))[:12], Type: sec.Type, RotateEvery: sec.RotateEvery, Exposed: len(sec.Exposed) > 0}
		if !sec.Rotated.IsZero() {
			k.Rotated = sec.Rotated.Format("2006-01-02")
		}
		rep.Keys = append(rep.Keys, k)
	}
	return rep, nil
}
