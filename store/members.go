package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hush-secrets/hush/crypt"
)

// AddRecipients makes rs recipients of each environment in envs and
// re-encrypts their team stores, one environment at a time under the
// project lock. Keys already present are skipped. It returns, per
// environment, the recipients actually added.
func (p *Project) AddRecipients(envs []string, rs []Recipient, id *crypt.Identity) (map[string][]Recipient, error) {
	for _, r := range rs {
		if _, err := crypt.ParseRecipient(r.Key); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	added := map[string][]Recipient{}
	for _, env := range envs {
		err := p.withLock(func() error {
			ec, doc, err := p.teamForWrite(env, id)
			if err != nil {
				return err
			}
			var add []Recipient
			for _, r := range rs {
				r.Key = crypt.CanonicalRecipient(r.Key)
				if !hasKey(ec.Recipients, r.Key) && !hasKey(add, r.Key) {
					add = append(add, r)
				}
			}
			if len(add) == 0 {
				return nil
			}
			ec.Recipients = append(ec.Recipients, add...)
			p.touchConfig()
			if err := p.write(doc, Team, id); err != nil {
				return err
			}
			if err := p.SaveConfig(env); err != nil {
				return err
			}
			added[env] = add
			return nil
		})
		if err != nil {
			return added, fmt.Errorf("%s: %w", env, err)
		}
	}
	return added, nil
}

func hasKey(rs []Recipient, key string) bool {
	for _, r := range rs {
		if crypt.CanonicalRecipient(r.Key) == key {
			return true
		}
	}
	return false
}

// teamForWrite is what every change to a team store starts with, under the
// lock: the environment's config, the recipient-pin check, the document.
func (p *Project) teamForWrite(env string, id *crypt.Identity) (*EnvConfig, *Document, error) {
	ec, err := p.Config.Env(env)
	if err != nil {
		return nil, nil, err
	}
	if err := p.checkPin(env); err != nil {
		return nil, nil, err
	}
	doc, err := p.read(env, Team, id, true)
	if err != nil {
		return nil, nil, err
	}
	return ec, doc, nil
}

// teamForRemoval is teamForWrite for removing who from env. Removing is
// never a disclosure, so a pending recipient change does not block it as
// long as what remains is a subset of what this user acknowledged: removing
// a recipient planted by a pushed commit is how one undoes it. It returns
// the acknowledged set (nil with nothing pinned yet: trust on first use).
func (p *Project) teamForRemoval(env, who string, id *crypt.Identity) (*EnvConfig, *Document, []Recipient, error) {
	ec, err := p.Config.Env(env)
	if err != nil {
		return nil, nil, nil, err
	}
	pf, err := p.readPins()
	if err != nil {
		return nil, nil, nil, err
	}
	var pinned []Recipient
	if pe := p.pinDiff(pf, env); pe != nil {
		pinned = append([]Recipient{}, pf.Envs[env]...)
		removed := p.Config.MatchMember(env, who)
		for _, rc := range ec.Recipients {
			k := crypt.CanonicalRecipient(rc.Key)
			if !hasKey(removed, k) && !hasKey(pinned, k) {
				return nil, nil, nil, pe
			}
		}
	} else if rs, ok := pf.Envs[env]; ok {
		pinned = rs
	}
	doc, err := p.read(env, Team, id, true)
	if err != nil {
		return nil, nil, nil, err
	}
	return ec, doc, pinned, nil
}

// withLock runs fn under the project lock with a freshly read config.
func (p *Project) withLock(fn func() error) error {
	l, err := p.Lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	if err := p.ReloadConfig(); err != nil {
		return err
	}
	return fn()
}

// Removal is what removing a member did to one environment.
type Removal struct {
	Env     string
	Removed []Recipient
	// Exposed lists the secrets now marked exposed to the member: they
	// must be rotated, because git history still holds files the member
	// could decrypt.
	Exposed []string
	// Unacknowledged says every removed recipient was one this user never
	// acknowledged (planted by a commit): nothing of ours was encrypted to
	// it, so nothing is marked exposed.
	Unacknowledged bool
}

// MatchMember returns the recipients of env whose label or key is who.
func (c *Config) MatchMember(env, who string) []Recipient {
	ec, ok := c.Environments[env]
	if !ok {
		return nil
	}
	key := crypt.CanonicalRecipient(who)
	var out []Recipient
	for _, r := range ec.Recipients {
		if r.Label == who || crypt.CanonicalRecipient(r.Key) == key {
			out = append(out, r)
		}
	}
	return out
}

// RemoveMember removes the recipients matching who (a label or a key) from
// envs (all environments when envs is empty), re-encrypts each store to the
// remaining recipients and marks every secret in it exposed to the member.
// Each environment is finished (store written, then hush.yaml) before the
// next starts, and a journal in the user's data dir records what is left,
// so an interrupted removal is completed by running it again and hush
// status can say where the member can still read. Removing an
// environment's last recipient is refused before anything changes.
func (p *Project) RemoveMember(who string, envs []string, id *crypt.Identity, now time.Time) ([]Removal, error) {
	if len(envs) == 0 {
		envs = p.Config.EnvNames()
	}
	var todo []string
	for _, env := range envs {
		ec, err := p.Config.Env(env)
		if err != nil {
			return nil, err
		}
		m := p.Config.MatchMember(env, who)
		if len(m) == 0 {
			continue
		}
		if len(m) == len(ec.Recipients) {
			return nil, fmt.Errorf("%w: removing %s would leave environment %s with no recipient; add another member first", ErrInvalid, who, env)
		}
		todo = append(todo, env)
	}
	if len(todo) == 0 {
		return nil, fmt.Errorf("member %q %w in %v", who, ErrNotFound, envs)
	}
	if err := p.writeJournal(&removalJournal{Member: who, Envs: todo}); err != nil {
		return nil, err
	}
	var out []Removal
	for i, env := range todo {
		var r Removal
		err := p.withLock(func() error {
			ec, doc, pinned, err := p.teamForRemoval(env, who, id)
			if err != nil {
				return err
			}
			r = Removal{Env: env, Removed: p.Config.MatchMember(env, who)}
			label := who
			if len(r.Removed) > 0 && r.Removed[0].Label != "" {
				label = r.Removed[0].Label
			}
			// Only a recipient this user acknowledged was ever encrypted
			// to by this user: one planted by a commit and never
			// acknowledged read nothing from us, and marking every
			// secret exposed to it would cry wolf.
			r.Unacknowledged = pinned != nil
			for _, rc := range r.Removed {
				if pinned == nil || hasKey(pinned, crypt.CanonicalRecipient(rc.Key)) {
					r.Unacknowledged = false
				}
			}
			for _, name := range doc.Names() {
				if r.Unacknowledged {
					break
				}
				s := doc.Secrets[name]
				if s.Type == TypeConfig {
					continue // configuration: nothing to rotate
				}
				if !exposedTo(s, label) {
					s.Exposed = append(s.Exposed, Exposure{To: label, Since: now})
				}
				r.Exposed = append(r.Exposed, name)
			}
			var keep []Recipient
			for _, rc := range ec.Recipients {
				if !hasKey(r.Removed, crypt.CanonicalRecipient(rc.Key)) {
					keep = append(keep, rc)
				}
			}
			ec.Recipients = keep
			p.touchConfig()
			// The removed member knows the lineage: start a new one,
			// naming the old so readers follow (lineage.go).
			if doc.Lineage != "" {
				doc.Previous = doc.Lineage
			}
			doc.Lineage = newLineage()
			// The store first: once it is re-encrypted the member cannot
			// read the current file, and hush.yaml still naming them only
			// makes status pessimistic until the rerun.
			if err := p.write(doc, Team, id); err != nil {
				return err
			}
			return p.SaveConfig(env)
		})
		if err != nil {
			return out, fmt.Errorf("%s: %w (run the removal again to finish it)", env, err)
		}
		out = append(out, r)
		if err := p.writeJournal(&removalJournal{Member: who, Envs: todo[i+1:]}); err != nil {
			return out, err
		}
	}
	return out, nil
}

func exposedTo(s *Secret, who string) bool {
	for _, e := range s.Exposed {
		if e.To == who {
			return true
		}
	}
	return false
}

// removalJournal is the unfinished part of a member removal.
type removalJournal struct {
	Member string   `json:"member"`
	Envs   []string `json:"environments"`
}

func (p *Project) journalPath() string { return filepath.Join(p.PersonalDir(), "removal.json") }

func (p *Project) writeJournal(j *removalJournal) error {
	if len(j.Envs) == 0 {
		err := os.Remove(p.journalPath())
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p.PersonalDir(), 0o700); err != nil {
		return err
	}
	return WriteFileAtomic(p.journalPath(), b)
}

// PendingRemoval reports an interrupted member removal: the member and the
// environments they can still read. ok is false when there is none. An
// environment whose hush.yaml no longer names the member is done: the
// removal writes the store before hush.yaml, and one a commit took out
// (a git revert of the commit that planted them) is no longer encrypted to.
func (p *Project) PendingRemoval() (member string, envs []string, ok bool) {
	b, err := ReadFileNoFollow(p.journalPath(), 1<<20)
	if err != nil {
		return "", nil, false
	}
	var j removalJournal
	if json.Unmarshal(b, &j) != nil {
		return "", nil, false
	}
	for _, env := range j.Envs {
		if len(p.Config.MatchMember(env, j.Member)) > 0 {
			envs = append(envs, env)
		}
	}
	if len(envs) == 0 {
		return "", nil, false
	}
	return j.Member, envs, true
}

// Member is one recipient across the project.
type Member struct {
	Label string   `json:"label"`
	Key   string   `json:"key"`
	Envs  []string `json:"environments"`
}

// Members lists every recipient and the environments it can read.
func (c *Config) Members() []Member {
	byKey := map[string]*Member{}
	for _, env := range c.EnvNames() {
		for _, r := range c.Environments[env].Recipients {
			k := crypt.CanonicalRecipient(r.Key)
			m, ok := byKey[k]
			if !ok {
				m = &Member{Label: r.Label, Key: k}
				byKey[k] = m
			}
			m.Envs = append(m.Envs, env)
		}
	}
	out := make([]Member, 0, len(byKey))
	for _, m := range byKey {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Label != out[j].Label {
			return out[i].Label < out[j].Label
		}
		return out[i].Key < out[j].Key
	})
	return out
}
