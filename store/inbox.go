package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hush-secrets/hush/crypt"
)

// The inbox is how someone who is not a member proposes a value for an
// environment (hush set --contribute): a drop file
// .hush/inbox/<env>/<id>.age, age-encrypted to the environment's public
// recipients, holding the key, the value, a contributor label and a
// time. The contributor needs no identity and reads nothing; the team
// store is not touched. A member lists, accepts or rejects drops (hush
// inbox); only an accept changes the store, through the normal change
// path. Nothing in a drop is authenticated: anyone who can push can write
// one, under any label — which is why nothing is applied without a
// member's explicit accept.

// InboxDirName is the inbox's directory inside .hush.
const InboxDirName = "inbox"

// dropKind marks a drop's document, so a store or any other age file
// put in the inbox is not taken for one.
const dropKind = "hush-drop"

// maxDropFile bounds what hush reads of a drop: a value is at most 1 MiB,
// base64 and armor add a half.
const maxDropFile = 2 << 20

// maxContributor bounds a contributor label.
const maxContributor = 200

// Drop is one proposed value. Contributor and Created are what the
// contributor's hush wrote: claims, not facts.
type Drop struct {
	Environment string
	Key         string
	Value       Value
	Contributor string
	Created     time.Time
}

// dropJSON is a drop's document. The value is base64, so any bytes
// travel.
type dropJSON struct {
	Version int    `json:"version"`
	Kind    string `json:"kind"`
	// ID is the drop's file name, inside the ciphertext, so an old drop
	// copied under a new name is refused, and one restored under its own
	// name is found in git history (a replay).
	ID          string    `json:"id"`
	Environment string    `json:"environment"`
	Key         string    `json:"key"`
	Value       string    `json:"value_base64"`
	Contributor string    `json:"contributor"`
	Created     time.Time `json:"created"`
}

// InboxDir is env's inbox.
func (p *Project) InboxDir(env string) string {
	return filepath.Join(p.Dir(), InboxDirName, env)
}

// DropPath is the file of drop id in env's inbox.
func (p *Project) DropPath(env, id string) string {
	return filepath.Join(p.InboxDir(env), id+".age")
}

// validDropID says id is a drop id as hush makes them: 16 hex digits.
func validDropID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// ValidContributor checks a contributor label.
func ValidContributor(label string) error {
	if label == "" || len(label) > maxContributor || !utf8.ValidString(label) || strings.ContainsAny(label, "\x00\n\r") {
		return fmt.Errorf("%w contributor label: 1 to %d characters on one line", ErrInvalid, maxContributor)
	}
	return nil
}

// WriteDrop encrypts d to rcpts and writes it as a new drop in its
// environment's inbox, returning its id and path. It writes through no
// link: an inbox directory that is a symlink (a repository can plant one)
// is refused.
func (p *Project) WriteDrop(d *Drop, rcpts []Recipient) (id, path string, err error) {
	if err := ValidKeyName(d.Key); err != nil {
		return "", "", err
	}
	if err := ValidValue(d.Value.Reveal()); err != nil {
		return "", "", err
	}
	if err := ValidContributor(d.Contributor); err != nil {
		return "", "", err
	}
	ages, err := ageRecipients(d.Environment, rcpts)
	if err != nil {
		return "", "", err
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	id = hex.EncodeToString(b[:])
	plain, err := json.Marshal(dropJSON{Version: 1, Kind: dropKind, ID: id, Environment: d.Environment, Key: d.Key,
		Value: base64.StdEncoding.EncodeToString([]byte(d.Value.Reveal())), Contributor: d.Contributor, Created: d.Created.UTC()})
	if err != nil {
		return "", "", err
	}
	ct, err := crypt.Encrypt(plain, ages...)
	if err != nil {
		return "", "", err
	}
	for _, dir := range []string{filepath.Join(p.Dir(), InboxDirName), p.InboxDir(d.Environment)} {
		if err := mkdirNoFollow(dir); err != nil {
			return "", "", err
		}
	}
	path = p.DropPath(d.Environment, id)
	if err := CreateFileExclusive(path, ct, 0o600); err != nil {
		return "", "", err
	}
	return id, path, nil
}

// mkdirNoFollow makes dir unless it is there; a symlink or other file in
// its place is refused.
func mkdirNoFollow(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("%w: %s is a %s, not a directory hush made; remove it", ErrUnsafe, dir, fileKind(fi.Mode()))
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// DropIDs lists the drops in env's inbox, sorted, and the names there that
// are not drops (left alone, reported). An inbox that is a symlink is
// refused.
func (p *Project) DropIDs(env string) (ids, other []string, err error) {
	dir := p.InboxDir(env)
	for _, d := range []string{filepath.Join(p.Dir(), InboxDirName), dir} {
		fi, err := os.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if !fi.IsDir() {
			return nil, nil, fmt.Errorf("%w: %s is a %s, not a directory hush made", ErrUnsafe, d, fileKind(fi.Mode()))
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".age")
		if ok && validDropID(id) && e.Type().IsRegular() {
			ids = append(ids, id)
		} else {
			other = append(other, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, other, nil
}

// ReadDrop decrypts drop id of env's inbox. The drop must be one hush
// wrote for this environment (a drop moved from another environment's
// inbox is refused, as a store copied over another is) with a valid key
// and value. Errors never quote the value.
func (p *Project) ReadDrop(env, id string, ident *crypt.Identity) (*Drop, error) {
	if !validDropID(id) {
		return nil, fmt.Errorf("%w: %q is not a drop id", ErrInvalid, id)
	}
	ct, err := ReadFileNoFollow(p.DropPath(env, id), maxDropFile)
	if err != nil {
		return nil, err
	}
	if ident == nil {
		return nil, fmt.Errorf("%w: no identity to decrypt the drop", ErrNoIdentity)
	}
	plain, err := crypt.Decrypt(ct, ident.Identity)
	if err != nil {
		if errors.Is(err, crypt.ErrNoIdentity) {
			return nil, fmt.Errorf("%w: the drop is not encrypted to your identity", ErrNoIdentity)
		}
		return nil, err
	}
	return decodeDrop(plain, env, id)
}

// decodeDrop parses and checks a drop's decrypted document. Errors never
// quote the value.
func decodeDrop(plain []byte, env, id string) (*Drop, error) {
	var dj dropJSON
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&dj); err != nil || dec.More() {
		return nil, fmt.Errorf("%w: not a hush drop (%s)", ErrIntegrity, jsonErrorKind(err))
	}
	if dj.Version != 1 || dj.Kind != dropKind {
		return nil, fmt.Errorf("%w: not a hush drop, or of a version this hush does not read", ErrIntegrity)
	}
	if dj.ID != id {
		return nil, fmt.Errorf("%w: the drop was renamed (it was written as %q): a copy of an old drop?", ErrIntegrity, dj.ID)
	}
	if dj.Environment != env {
		return nil, fmt.Errorf("%w: the drop is for environment %q, not %q (was it moved?)", ErrIntegrity, dj.Environment, env)
	}
	if err := ValidKeyName(dj.Key); err != nil {
		return nil, fmt.Errorf("%w: the drop's key: %v", ErrIntegrity, err)
	}
	if err := ValidContributor(dj.Contributor); err != nil {
		return nil, fmt.Errorf("%w: the drop's %v", ErrIntegrity, err)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(dj.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: the drop's value is not base64", ErrIntegrity)
	}
	if err := ValidValue(string(raw)); err != nil {
		return nil, fmt.Errorf("%w: the drop's value: %v", ErrIntegrity, err)
	}
	return &Drop{Environment: dj.Environment, Key: dj.Key, Value: Value(raw), Contributor: dj.Contributor, Created: dj.Created}, nil
}

// RemoveDrop deletes drop id of env's inbox, and the inbox directories
// once empty. A symlink in its place is removed as the link it is, never
// followed.
func (p *Project) RemoveDrop(env, id string) error {
	if !validDropID(id) {
		return fmt.Errorf("%w: %q is not a drop id", ErrInvalid, id)
	}
	if err := os.Remove(p.DropPath(env, id)); err != nil {
		return err
	}
	os.Remove(p.InboxDir(env))                      // only when empty
	os.Remove(filepath.Join(p.Dir(), InboxDirName)) // likewise
	return nil
}
