package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/hush-secrets/hush/crypt"
)

// Recipient pinning. age does not authenticate senders, and anyone who can
// push to the repository can add a recipient to hush.yaml; the next innocent
// `hush set` would then encrypt the team's secrets to them. So hush
// remembers, per user, the recipient set it last encrypted each environment
// to, and refuses to write when hush.yaml says otherwise until the user
// acknowledges the change (hush member ack).

// pinName is the pin file in a checkout's personal directory.
const pinName = "pins.json"

// pinFile holds the pins of one project, in the user's personal data dir.
// Version 2 pins the settings too and pins every environment, so an
// environment without a pin is one that arrived after the snapshot.
// Version 1 (recipients of the environments written to, only) is upgraded
// by trustOnFirstUse without touching the recipient pins it holds.
type pinFile struct {
	Version  int                    `json:"version,omitempty"`
	Envs     map[string][]Recipient `json:"environments"`
	Settings map[string]string      `json:"settings,omitempty"`
	// Intent is a change of hush.yaml this user's hush was making when it
	// was interrupted: hush.yaml and the pins are two files, and a kill
	// between the two writes must not turn the user's own change into one
	// "that arrived by pull" (refused until acknowledged). It is written
	// before hush.yaml and applied once hush.yaml holds exactly the bytes
	// it names; any other hush.yaml (the write never happened, or changed
	// since) discards it. Only this user's hush writes the pin file, so the
	// repository cannot forge one.
	Intent *pinIntent `json:"intent,omitempty"`
	// ScanAllow is the allowlist of .hush/scan.yaml this user acknowledged
	// (see scanpin.go); nil until the first scan or acknowledgement.
	ScanAllow *[]string `json:"scan_allow,omitempty"`
	// Lineage is, per environment, the sums of the team store lineages
	// this user has read or written (see lineage.go).
	Lineage map[string][]string `json:"lineage,omitempty"`

	exists bool
}

// pinIntent is the pin change that goes with one write of hush.yaml.
type pinIntent struct {
	Config   string                 `json:"config_sha256"`
	Envs     map[string][]Recipient `json:"environments,omitempty"`
	Drop     []string               `json:"drop,omitempty"`
	Settings map[string]string      `json:"settings,omitempty"`
}

// resolveIntent applies or discards an interrupted intent against the
// hush.yaml bytes as read.
func (p *Project) resolveIntent(pf *pinFile) {
	in := pf.Intent
	if in == nil {
		return
	}
	pf.Intent = nil
	if in.Config != configSum(p.raw) {
		return
	}
	applyIntent(pf, in)
}

func applyIntent(pf *pinFile, in *pinIntent) {
	for env, rs := range in.Envs {
		pf.Envs[env] = rs
	}
	for _, env := range in.Drop {
		delete(pf.Envs, env)
	}
	for k, v := range in.Settings {
		if v == "" {
			delete(pf.Settings, k)
		} else {
			pf.Settings[k] = v
		}
	}
}

// complete says the pins cover every setting and environment.
func (pf *pinFile) complete() bool { return pf.exists && pf.Version >= 2 }

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
		out[i] = fmt.Sprintf("%s (%s)", Printable(r.Label), Printable(crypt.Fingerprint(r.Key)))
	}
	return strings.Join(out, ", ")
}

func (p *Project) pinPath() string { return filepath.Join(p.PersonalDir(), pinName) }

// readPins parses the pin file. The bytes are read once per open Project
// (a hush get asks three questions of the pins) and read again after any
// write, lock or reload, so a decision taken under the lock sees the file as
// it is then, not as it was when the command started.
func (p *Project) readPins() (*pinFile, error) {
	pf := &pinFile{Envs: map[string][]Recipient{}, Settings: map[string]string{}}
	if !p.pins.read || p.pins.path != p.pinPath() {
		b, err := ReadFileNoFollow(p.pinPath(), 4<<20)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			b = nil
		case err != nil:
			return nil, err
		}
		p.pins = pinCache{read: true, path: p.pinPath(), raw: b}
	}
	b := p.pins.raw
	if b == nil {
		return pf, nil
	}
	if err := json.Unmarshal(b, pf); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrIntegrity, p.pinPath(), err)
	}
	if pf.Envs == nil {
		pf.Envs = map[string][]Recipient{}
	}
	if pf.Settings == nil {
		pf.Settings = map[string]string{}
	}
	pf.exists = true
	p.resolveIntent(pf)
	return pf, nil
}

func (p *Project) writePins(pf *pinFile) error {
	was := p.pins
	p.pins = pinCache{}
	b, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return err
	}
	// Most writes pin what is pinned already (every hush set does): leave
	// the file alone then, so a full disk in the home does not fail a
	// change that needs nothing written there.
	if was.read && was.path == p.pinPath() && was.raw != nil && bytes.Equal(was.raw, append(b, '\n')) {
		p.pins = was
		return nil
	}
	if err := os.MkdirAll(p.PersonalDir(), 0o700); err != nil {
		return err
	}
	return WriteFileAtomic(p.pinPath(), append(b, '\n'))
}

// pinsLock is the lock a write of the pins takes: the project's, which
// writers of hush.yaml and the stores take too, or — in a checkout this
// user cannot write (a deploy directory owned by another user, a
// read-only mount) — this user's own personal lock. The pins are this
// user's alone, and every process of theirs fails the project lock the
// same way there, so they all take the same one.
func (p *Project) pinsLock() (*Lock, error) {
	l, err := p.Lock()
	if err != nil && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)) {
		return p.lockPersonal()
	}
	return l, err
}

// updatePins is the one read-change-write of the pin file: under the
// project lock (unless the caller holds it already), the pins read afresh,
// change applied, and the file written only when change reports a change.
func (p *Project) updatePins(locked bool, change func(*pinFile) bool) error {
	if !locked {
		l, err := p.pinsLock()
		if err != nil {
			return err
		}
		defer l.Unlock()
	}
	pf, err := p.readPins()
	if err != nil {
		return err
	}
	if !change(pf) {
		return nil
	}
	return p.writePins(pf)
}

// snapshot pins what is not pinned yet: every environment without a pin
// and, for pins from before version 2, the settings. Existing recipient
// pins are kept, so a change pending when hush was upgraded stays pending.
func (p *Project) snapshot(pf *pinFile) error {
	cur, err := p.Config.Settings()
	if err != nil {
		return err
	}
	if !pf.complete() {
		for name, ec := range p.Config.Environments {
			if _, ok := pf.Envs[name]; !ok {
				pf.Envs[name] = append([]Recipient(nil), ec.Recipients...)
			}
		}
		pf.Settings = cur
		pf.Version = 2
	}
	p.adoptID(pf, cur)
	return nil
}

// adoptID pins an id that appears in hush.yaml where none was pinned: a
// project from before ids getting its id. The checkout's data stays keyed
// by its registered id, so this resets no trust.
func (p *Project) adoptID(pf *pinFile, cur map[string]string) {
	if _, ok := pf.Settings["id"]; !ok && cur["id"] != "" {
		pf.Settings["id"] = cur["id"]
	}
}

// trustOnFirstUse pins the whole current configuration when nothing is
// pinned yet (and upgrades version 1 pins). It reports whether it pinned
// settings it had not pinned before.
func (p *Project) trustOnFirstUse() (bool, error) {
	pf, err := p.readPins()
	if err != nil {
		return false, err
	}
	if pf.complete() {
		if _, ok := pf.Settings["id"]; ok || p.Config.ID == "" {
			return false, nil // the common case: nothing to write, no lock
		}
	}
	// Writes of the pin file happen under the project lock, as every
	// other (Pin, Acknowledge) does, so none is lost to a race.
	l, err := p.pinsLock()
	if err != nil {
		return false, err
	}
	defer l.Unlock()
	if pf, err = p.readPins(); err != nil {
		return false, err
	}
	if pf.complete() {
		cur, err := p.Config.Settings()
		if err != nil {
			return false, err
		}
		if _, ok := pf.Settings["id"]; ok || cur["id"] == "" {
			return false, nil
		}
		p.adoptID(pf, cur)
		return false, p.writePins(pf)
	}
	if err := p.snapshot(pf); err != nil {
		return false, err
	}
	return true, p.writePins(pf)
}

// PinDiff compares env's recipients in hush.yaml with the pinned set. It
// returns nil when they agree or when nothing is pinned yet (trust on
// first use: the first use pins). An environment that arrived after the
// pins were taken has all its recipients added.
func (p *Project) PinDiff(env string) (*PinError, error) {
	pf, err := p.readPins()
	if err != nil {
		return nil, err
	}
	return p.pinDiff(pf, env), nil
}

func (p *Project) pinDiff(pf *pinFile, env string) *PinError {
	var current []Recipient
	ec, inConfig := p.Config.Environments[env]
	if inConfig {
		current = ec.Recipients
	}
	pinned, ok := pf.Envs[env]
	if !inConfig || !ok && !pf.complete() {
		// An environment removed from hush.yaml encrypts to no one; its
		// pin stays until acknowledged, so one re-added by a later pull is
		// compared with it.
		return nil
	}
	added, removed := diffRecipients(pinned, current)
	if len(added) == 0 && len(removed) == 0 {
		return nil
	}
	return &PinError{Env: env, Added: added, Removed: removed}
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
// With nothing pinned yet, it pins the whole configuration (trust on
// first use).
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
	if !pf.exists {
		if err := p.snapshot(pf); err != nil {
			return err
		}
	} else if pf.complete() {
		cur, err := p.Config.Settings()
		if err != nil {
			return err
		}
		p.adoptID(pf, cur)
	}
	return p.writePins(pf)
}

// Pending is every change of hush.yaml this user has not acknowledged.
type Pending struct {
	Recipients []*PinError
	Settings   []SettingChange
}

// Empty says there is nothing to acknowledge.
func (pd *Pending) Empty() bool { return len(pd.Recipients) == 0 && len(pd.Settings) == 0 }

// Pending lists the unacknowledged changes of the configuration as read.
func (p *Project) Pending() (*Pending, error) {
	pf, err := p.readPins()
	if err != nil {
		return nil, err
	}
	return p.pending(pf)
}

func (p *Project) pending(pf *pinFile) (*Pending, error) {
	pd := &Pending{}
	names := map[string]bool{}
	for n := range p.Config.Environments {
		names[n] = true
	}
	for n := range pf.Envs {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if pe := p.pinDiff(pf, n); pe != nil {
			pd.Recipients = append(pd.Recipients, pe)
		}
	}
	if pf.complete() {
		cur, err := p.Config.Settings()
		if err != nil {
			return nil, err
		}
		pd.Settings = diffSettings(pf.Settings, cur)
	}
	return pd, nil
}

// CheckSettings fails with a *SettingsError when a setting named by keys
// (a key also covers its sub-keys: "environments" covers
// "environments.dev.x") changed since this user acknowledged it.
func (p *Project) CheckSettings(keys ...string) error {
	pf, err := p.readPins()
	if err != nil {
		return err
	}
	if !pf.complete() {
		return nil
	}
	cur, err := p.currentSettings()
	if err != nil {
		return err
	}
	var hit []SettingChange
	for _, c := range diffSettings(pf.Settings, cur) {
		for _, k := range keys {
			if c.Key == k || strings.HasPrefix(c.Key, k+".") {
				hit = append(hit, c)
				break
			}
		}
	}
	if len(hit) > 0 {
		return &SettingsError{Changes: hit}
	}
	return nil
}

// PinnedSetting returns a setting's acknowledged canonical value, and
// whether settings are pinned at all.
func (p *Project) PinnedSetting(key string) (string, bool, error) {
	pf, err := p.readPins()
	if err != nil || !pf.complete() {
		return "", false, err
	}
	return pf.Settings[key], true, nil
}

// ErrChangedSinceShown is an acknowledgement refused because hush.yaml
// changed between showing the changes and pinning them.
var ErrChangedSinceShown = fmt.Errorf("%w: .hush/hush.yaml changed after hush showed it to you; nothing was acknowledged, run the command again to review the new version", ErrConflict)

// Acknowledge pins the configuration whose bytes were shown to the user:
// under the project lock it rereads hush.yaml and refuses, pinning
// nothing, when the bytes differ from shown. envs limits it to the
// recipients of those environments (nil: every environment and every
// setting).
func (p *Project) Acknowledge(shown []byte, envs []string) error {
	l, err := p.Lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	b, err := ReadFileNoFollow(p.ConfigPath(), 1<<20)
	if err != nil {
		return err
	}
	if !bytes.Equal(b, shown) {
		return ErrChangedSinceShown
	}
	c, err := parseConfig(b)
	if err != nil {
		return err
	}
	p.Config, p.raw = c, b
	p.touchConfig()
	pf, err := p.readPins()
	if err != nil {
		return err
	}
	if envs == nil {
		pf.Envs = map[string][]Recipient{}
		for name, ec := range c.Environments {
			pf.Envs[name] = append([]Recipient(nil), ec.Recipients...)
		}
		if pf.Settings, err = c.Settings(); err != nil {
			return err
		}
		pf.Version = 2
	} else {
		for _, env := range envs {
			if ec, ok := c.Environments[env]; ok {
				pf.Envs[env] = append([]Recipient(nil), ec.Recipients...)
			} else {
				delete(pf.Envs, env)
			}
		}
		if !pf.exists {
			if err := p.snapshot(pf); err != nil {
				return err
			}
		}
	}
	return p.writePins(pf)
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

// Pinned returns the recipients this user acknowledged for env, and
// whether there is an acknowledged set at all. Once the pins cover the
// whole project (version 2), an environment that arrived after them has
// one, and it is empty: nobody in it was acknowledged. Before the first
// pin there is none (trust on first use; the caller decides).
func (p *Project) Pinned(env string) ([]Recipient, bool, error) {
	pf, err := p.readPins()
	if err != nil {
		return nil, false, err
	}
	if rs, ok := pf.Envs[env]; ok {
		return rs, true, nil
	}
	return nil, pf.complete(), nil
}

// PinnedRecipients returns the recipients of env this user acknowledged,
// for copying into another environment: a *PinError while env's
// recipients in hush.yaml differ from them. With nothing pinned yet (trust
// on first use) it is hush.yaml's list.
func (p *Project) PinnedRecipients(env string) ([]Recipient, error) {
	pf, err := p.readPins()
	if err != nil {
		return nil, err
	}
	if pe := p.pinDiff(pf, env); pe != nil {
		return nil, pe
	}
	if rs, ok := pf.Envs[env]; ok {
		return append([]Recipient(nil), rs...), nil
	}
	if pf.complete() {
		return nil, fmt.Errorf("%w: environment %s has no acknowledged recipients; run: hush ack", ErrConflict, env)
	}
	ec, err := p.Config.Env(env)
	if err != nil {
		return nil, err
	}
	return append([]Recipient(nil), ec.Recipients...), nil
}
