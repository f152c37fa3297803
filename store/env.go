package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/hush-secrets/hush/crypt"
)

// Scope says which store of an environment an operation uses.
type Scope int

const (
	// Team is .hush/<env>.age, shared through git.
	Team Scope = iota
	// Personal is the user's own store of overrides under XDG_DATA_HOME.
	Personal
)

func (s Scope) String() string {
	if s == Personal {
		return "personal"
	}
	return "team"
}

// Path returns the file of env in scope.
func (p *Project) Path(env string, scope Scope) string {
	if scope == Personal {
		return p.PersonalPath(env)
	}
	return p.TeamPath(env)
}

// Read decrypts and decodes one store. A store file that does not exist
// yet reads as an empty document; every other failure is an error and
// yields no secrets at all.
func (p *Project) Read(env string, scope Scope, id *crypt.Identity) (*Document, error) {
	return p.read(env, scope, id, false)
}

// read is Read; locked says the caller holds the project lock (a pin the
// lineage needs is then written without taking it again).
func (p *Project) read(env string, scope Scope, id *crypt.Identity, locked bool) (*Document, error) {
	d, _, err := p.readNames(env, scope, id, locked)
	return d, err
}

// readNames is read that also returns the names of the document's
// secrets, sorted when hush wrote the store (see decodeFastNames), or nil.
func (p *Project) readNames(env string, scope Scope, id *crypt.Identity, locked bool) (*Document, []string, error) {
	plain, exists, err := p.decrypt(env, scope, id)
	if err != nil {
		return nil, nil, err
	}
	if !exists {
		return NewDocument(env), nil, nil
	}
	d, names, err := decodeDocumentNames(plain, env)
	if err != nil {
		return nil, nil, err
	}
	if err := p.lineageRead(env, scope, d, locked); err != nil {
		return nil, nil, err
	}
	return d, names, nil
}

// lineageRead checks a team store just read against its lineage pin, and
// pins what it may (see lineage.go).
func (p *Project) lineageRead(env string, scope Scope, d *Document, locked bool) error {
	if scope != Team {
		return nil
	}
	repin, err := p.checkLineage(env, d)
	if err != nil || repin == "" {
		return err
	}
	// Best effort: a checkout on a read-only file system cannot take the
	// lock, and the read must not fail for a pin it only adds (the next
	// read derives it again).
	_ = p.pinLineage(env, repin, locked)
	return nil
}

// ReadKey is Read for one secret (nil when the store does not hold it),
// for a command that needs no other: the whole store is decrypted and
// checked all the same, but no other secret is kept.
func (p *Project) ReadKey(env string, scope Scope, id *crypt.Identity, key string) (*Secret, error) {
	plain, exists, err := p.decrypt(env, scope, id)
	if err != nil || !exists {
		return nil, err
	}
	d, ok := decodeOne(plain, env, key)
	if !ok {
		if d, err = decodeDocument(plain, env); err != nil {
			return nil, err
		}
	}
	if err := p.lineageRead(env, scope, d, false); err != nil {
		return nil, err
	}
	return d.Secrets[key], nil
}

// decrypt reads and decrypts one store; exists is false, with no error,
// for a store file that does not exist yet.
func (p *Project) decrypt(env string, scope Scope, id *crypt.Identity) (plain string, exists bool, err error) {
	ec, err := p.Config.Env(env)
	if err != nil {
		return "", false, err
	}
	path := p.Path(env, scope)
	ct, err := ReadFileNoFollow(path, maxStoreFile)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if id == nil {
		return "", false, fmt.Errorf("%w: no identity to decrypt %s", ErrNoIdentity, env)
	}
	if scope == Team && hasConflictMarkers(ct) {
		return "", false, &TextConflictError{Env: env, Path: path}
	}
	plain, err = crypt.DecryptString(ct, p.identities(env, scope, id)...)
	if err != nil {
		if errors.Is(err, crypt.ErrNoIdentity) {
			if scope == Personal {
				return "", false, fmt.Errorf("%w: your personal %s store is encrypted to another identity than %s", ErrNoIdentity, env, crypt.Fingerprint(id.Public))
			}
			if id.Recipient == nil {
				// A key service's identity (no age key): age's message
				// says which key refused and why.
				detail := strings.TrimPrefix(err.Error(), crypt.ErrNoIdentity.Error()+": ")
				if !strings.Contains(detail, "did not decrypt") {
					detail = "none of its recipients is a key service you can use, and there is no age identity (set HUSH_IDENTITY or HUSH_IDENTITY_FILE)"
				}
				return "", false, fmt.Errorf("%w: %s (recipients: %s): %s", ErrNoIdentity, env, strings.Join(ec.Labels(), ", "), detail)
			}
			return "", false, fmt.Errorf("%w: your identity %s is not a recipient of %s (recipients: %s); ask one of them to run: hush member add %s --env %s --label NAME",
				ErrNoIdentity, crypt.Fingerprint(id.Public), env, strings.Join(ec.Labels(), ", "), id.Public, env)
		}
		return "", false, fmt.Errorf("%s store of %s (%s): %w", scope, env, path, err)
	}
	return plain, true, nil
}

// identities are what may decrypt a store of env: the user's age key and,
// for a team store, the key services of its acknowledged KMS recipients.
func (p *Project) identities(env string, scope Scope, id *crypt.Identity) []age.Identity {
	if scope != Team || id.KMS == nil {
		return []age.Identity{id.Identity}
	}
	keys := p.kmsKeys(env)
	if len(keys) == 0 {
		return []age.Identity{id.Identity}
	}
	return id.Identities(env, keys)
}

// Recipients returns the age recipients a store of env is encrypted to:
// the environment's members for the team store, the user alone for the
// personal one.
func (p *Project) Recipients(env string, scope Scope, id *crypt.Identity) ([]age.Recipient, error) {
	if scope == Personal {
		if id == nil || id.Recipient == nil {
			return nil, fmt.Errorf("%w: no identity to encrypt the personal store to", ErrNoIdentity)
		}
		return []age.Recipient{id.Recipient}, nil
	}
	ec, err := p.Config.Env(env)
	if err != nil {
		return nil, err
	}
	var kms *crypt.KMS
	if id != nil {
		kms = id.KMS
	}
	return parseRecipients(env, ec.Recipients, kms)
}

func parseRecipients(env string, rs []Recipient, kms *crypt.KMS) ([]age.Recipient, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("%w: environment %s has no recipients", ErrInvalid, env)
	}
	out := make([]age.Recipient, 0, len(rs))
	for _, r := range rs {
		rc, err := crypt.ParseRecipient(r.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: .hush/hush.yaml: environment %s, recipient %q: %v", ErrIntegrity, env, r.Label, err)
		}
		if crypt.IsKMS(r.Key) {
			if rc, err = kms.Recipient(r.Key, env); err != nil {
				return nil, err
			}
		}
		out = append(out, rc)
	}
	return out, nil
}

// ageRecipients is parseRecipients for what only members with an age
// key read (an inbox drop, a merge's conflict file): a KMS recipient is
// left out, so writing one needs no key service.
func ageRecipients(env string, rs []Recipient) ([]age.Recipient, error) {
	var keep []Recipient
	for _, r := range rs {
		if !crypt.IsKMS(r.Key) {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 && len(rs) > 0 {
		return nil, fmt.Errorf("%w: environment %s has only key-service recipients, and this file is for members with an age key", ErrInvalid, env)
	}
	return parseRecipients(env, keep, nil)
}

// kmsKeys are the recipients of env whose key services a reader may ask to
// unwrap its file key: the KMS recipients hush.yaml lists that this user
// also acknowledged (with nothing acknowledged yet, trust on first use:
// hush.yaml's). A KMS key a pull added is never asked about before it is
// acknowledged. An environment without one costs no pin lookup.
func (p *Project) kmsKeys(env string) []string {
	ec, err := p.Config.Env(env)
	if err != nil {
		return nil
	}
	var listed []string
	for _, r := range ec.Recipients {
		if crypt.IsKMS(r.Key) {
			listed = append(listed, crypt.CanonicalRecipient(r.Key))
		}
	}
	if len(listed) == 0 {
		return nil
	}
	pinned, ok, err := p.Pinned(env)
	if err != nil {
		return nil
	}
	if !ok {
		return listed
	}
	var out []string
	for _, k := range listed {
		if hasKey(pinned, k) {
			out = append(out, k)
		}
	}
	return out
}

// WriteTo encrypts doc to rcpts (instead of hush.yaml's list) and replaces
// the file at path atomically. The git merge driver uses it: its output
// goes to the file git names, encrypted to the merged recipients.
func WriteTo(path string, doc *Document, rcpts []Recipient) error {
	return WriteToWith(path, doc, rcpts, nil)
}

// WriteToWith is WriteTo with access to key services, for recipients that
// name one.
func WriteToWith(path string, doc *Document, rcpts []Recipient, kms *crypt.KMS) error {
	ages, err := parseRecipients(doc.Environment, rcpts, kms)
	if err != nil {
		return err
	}
	plain, err := doc.Encode()
	if err != nil {
		return err
	}
	ct, err := crypt.Encrypt(plain, ages...)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, ct)
}

// DecryptFile decrypts and decodes a store file at any path (a git blob in
// a temporary file). With env empty the document's own environment is
// accepted. An empty file is an integrity failure, not an empty store: hush
// never writes one, and reading it as "no secrets" would let a committed
// empty file delete every key in a merge.
func DecryptFile(path, env string, id *crypt.Identity) (*Document, error) {
	ct, err := ReadFileNoFollow(path, maxStoreFile)
	if err != nil {
		return nil, err
	}
	if len(ct) == 0 {
		return nil, fmt.Errorf("%w: the file is empty, not an age-encrypted store", ErrIntegrity)
	}
	plain, err := crypt.Decrypt(ct, id.Identity)
	if err != nil {
		return nil, err
	}
	if env == "" {
		var head struct {
			Environment string `json:"environment"`
		}
		if err := json.Unmarshal(plain, &head); err != nil {
			return nil, fmt.Errorf("%w: not a hush store", ErrIntegrity)
		}
		env = head.Environment
	}
	return DecodeDocument(plain, env)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !isNotExist(err) {
		return err
	}
	return nil
}

// write encrypts doc to the recipients of its environment and replaces the
// store file atomically. Callers hold the lock (see Update).
func (p *Project) write(doc *Document, scope Scope, id *crypt.Identity) error {
	rcpts, err := p.Recipients(doc.Environment, scope, id)
	if err != nil {
		return err
	}
	if scope == Team && doc.Lineage == "" {
		doc.Lineage = newLineage() // a new store, or one from before lineages
	}
	plain, err := doc.Encode()
	if err != nil {
		return err
	}
	ct, err := crypt.Encrypt(plain, rcpts...)
	if err != nil {
		return err
	}
	if scope == Personal {
		if err := os.MkdirAll(p.PersonalDir(), 0o700); err != nil {
			return err
		}
	}
	if err := WriteFileAtomic(p.Path(doc.Environment, scope), ct); err != nil {
		return err
	}
	if scope == Team {
		return p.pinLineage(doc.Environment, lineageSum(doc.Lineage), true)
	}
	return nil
}

// Update reads a store under its lock, lets fn change the document, and
// writes it back. When fn returns an error nothing is written. The config
// is reread under the lock, so a recipient change made by a concurrent
// process is honoured.
func (p *Project) Update(env string, scope Scope, id *crypt.Identity, fn func(*Document) error) error {
	var (
		l   *Lock
		err error
	)
	if scope == Personal {
		l, err = p.lockPersonal()
	} else {
		l, err = p.Lock()
	}
	if err != nil {
		return err
	}
	defer l.Unlock()
	if err := p.ReloadConfig(); err != nil {
		return err
	}
	if scope == Team {
		if err := p.checkPin(env); err != nil {
			return err
		}
	}
	doc, err := p.read(env, scope, id, true)
	if err != nil {
		return err
	}
	if err := fn(doc); err != nil {
		return err
	}
	if err := p.write(doc, scope, id); err != nil {
		return err
	}
	if scope == Team {
		return p.Pin(env)
	}
	return nil
}

// Entry is one secret as layering sees it.
type Entry struct {
	Name   string
	Secret *Secret
	// Source is "team" or "personal".
	Source Scope
	// Env is the environment whose store holds the value: the one read,
	// or, for a value inherited, the parent it comes from (inherit.go).
	Env string
	// Shadows is true when a personal secret hides a team one.
	Shadows bool
	// Overrides is the environment whose team value this one hides ("" when
	// it hides none): the environment read itself for a personal value
	// over its team's, a parent for a value set over an inherited one.
	Overrides string
}

// Inherited says the value comes from a parent of env.
func (e Entry) Inherited(env string) bool { return e.Env != "" && e.Env != env }

// Layered reads the team store of env, those of the environments it
// inherits from (inherit.go), and the user's personal store of env, and
// returns every secret — personal over env's team store over its parents',
// nearest first — sorted by name.
func (p *Project) Layered(env string, id *crypt.Identity) ([]Entry, error) {
	chain, err := p.Parents(env)
	if err != nil {
		return nil, err
	}
	if len(chain) == 0 {
		return p.layeredOwn(env, id)
	}
	team, err := p.layeredTeam(env, chain, id)
	if err != nil {
		return nil, err
	}
	personal, err := p.Read(env, Personal, id)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(team)+len(personal.Secrets))
	for name, e := range team {
		if _, ok := personal.Secrets[name]; ok {
			continue
		}
		out = append(out, e)
	}
	for name, s := range personal.Secrets {
		e := Entry{Name: name, Secret: s, Source: Personal, Env: env}
		if t, ok := team[name]; ok {
			e.Shadows, e.Overrides = true, t.Env
		}
		out = append(out, e)
	}
	sortEntries(out)
	return out, nil
}

// layeredOwn is Layered of an environment that inherits from none: its
// team store under its personal one. The team's entries are taken in the
// store's own order, which for a store hush wrote is already sorted, so
// the sort after only checks it (at 1,000 keys, sorting them from a map's
// order cost hush run about 0.3 ms), and no map of entries is built.
func (p *Project) layeredOwn(env string, id *crypt.Identity) ([]Entry, error) {
	own, names, err := p.readNames(env, Team, id, false)
	if err != nil {
		return nil, err
	}
	personal, err := p.Read(env, Personal, id)
	if err != nil {
		return nil, err
	}
	if len(names) != len(own.Secrets) { // encoding/json read it
		names = slices.Collect(maps.Keys(own.Secrets))
	}
	out := make([]Entry, 0, len(own.Secrets)+len(personal.Secrets))
	for _, name := range names {
		if _, ok := personal.Secrets[name]; ok {
			continue
		}
		out = append(out, Entry{Name: name, Secret: own.Secrets[name], Source: Team, Env: env})
	}
	for name, s := range personal.Secrets {
		e := Entry{Name: name, Secret: s, Source: Personal, Env: env}
		if _, ok := own.Secrets[name]; ok {
			e.Shadows, e.Overrides = true, env
		}
		out = append(out, e)
	}
	sortEntries(out)
	return out, nil
}

// sortEntries sorts entries by name. slices.SortFunc, not sort.Slice: at
// 10,000 keys the reflection-based swapper cost hush run about a
// millisecond; on entries already in order it is one pass.
func sortEntries(out []Entry) {
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
}

// CreateEnv adds env to hush.yaml with the given recipients and writes its
// empty team store, under the project lock.
func (p *Project) CreateEnv(env string, recipients []Recipient, id *crypt.Identity) error {
	if err := ValidEnvName(env); err != nil {
		return err
	}
	if len(recipients) == 0 {
		return fmt.Errorf("%w: environment %s needs at least one recipient", ErrInvalid, env)
	}
	l, err := p.Lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	if err := p.ReloadConfig(); err != nil {
		return err
	}
	if _, ok := p.Config.Environments[env]; ok {
		return fmt.Errorf("environment %s %w", env, ErrExists)
	}
	if err := refuseSymlink(p.TeamPath(env)); err != nil {
		return err
	}
	if _, err := os.Lstat(p.TeamPath(env)); err == nil {
		return fmt.Errorf("%s %w but is not in hush.yaml; move it away first", p.TeamPath(env), ErrExists)
	}
	p.Config.Environments[env] = &EnvConfig{Recipients: recipients}
	p.touchConfig()
	if p.Config.DefaultEnv == "" {
		p.Config.DefaultEnv = env
	}
	if err := p.write(NewDocument(env), Team, id); err != nil {
		delete(p.Config.Environments, env)
		p.touchConfig()
		return err
	}
	return p.SaveConfig(env)
}

// RemoveEnv drops env from hush.yaml and deletes its team and personal
// store files. The default environment cannot be removed while others
// exist without choosing a new default first.
func (p *Project) RemoveEnv(env string) error {
	l, err := p.Lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	if err := p.ReloadConfig(); err != nil {
		return err
	}
	if _, err := p.Config.Env(env); err != nil {
		return err
	}
	if kids := p.Config.Children(env); len(kids) > 0 {
		// Their reads would fail on a parent gone; or, were it made again
		// by someone else, see that one's values.
		return fmt.Errorf("%w: %s inherit from %s; make them inherit from another first (hush env inherit %s --none)",
			ErrConflict, strings.Join(kids, ", "), env, kids[0])
	}
	delete(p.Config.Environments, env)
	p.touchConfig()
	if p.Config.DefaultEnv == env {
		p.Config.DefaultEnv = ""
		if names := p.Config.EnvNames(); len(names) > 0 {
			p.Config.DefaultEnv = names[0]
		}
	}
	if err := p.SaveConfig(env); err != nil {
		return err
	}
	for _, path := range []string{p.TeamPath(env), p.PersonalPath(env)} {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	// An environment made again under this name starts a new lineage.
	pf, err := p.readPins()
	if err != nil || len(pf.Lineage[env]) == 0 {
		return err
	}
	delete(pf.Lineage, env)
	return p.writePins(pf)
}
