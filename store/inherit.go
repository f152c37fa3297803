package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hush-secrets/hush/crypt"
)

// Inheritance: an environment may name another in hush.yaml
// (environments.staging.inherits: dev), and reads of it then see the
// parent's values wherever it sets none, in a chain (staging → dev →
// base). The user's personal store of the environment read stays on top.
//
// Only reads are layered: a write to staging writes staging's store and
// nothing else, and every inherited value keeps the parent's metadata
// (type, rotation, exposure), because it is the parent's secret.
//
// Whom an environment inherits from decides what a child of prod
// receives: a commit making prod inherit from dev would hand every dev
// member a way to put values into prod's programs. So each link is a
// pinned setting ("environments.NAME.inherits", see settings.go), and a
// read follows the chain only while every link is as this user
// acknowledged it.

// InheritSetting is the pinned setting of env's parent.
func InheritSetting(env string) string { return "environments." + env + ".inherits" }

// ErrInheritance is a chain of inherits in hush.yaml that cannot be
// followed: a parent that is not an environment, or a cycle. It is a
// broken configuration, not a bad command line (exit 1).
var ErrInheritance = errors.New("broken inheritance")

// Parents returns the environments env inherits from, nearest first
// (staging → [dev, base]). It refuses a link changed since the user
// acknowledged it (a *SettingsError, exit 6), a parent that is not an
// environment and a cycle (ErrInheritance).
func (p *Project) Parents(env string) ([]string, error) {
	pf, err := p.readPins()
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{env: true}
	path := []string{env}
	for cur := env; ; {
		ec, err := p.Config.Env(cur)
		if err != nil {
			return nil, err
		}
		if err := checkInherit(pf, cur, ec.Inherits); err != nil {
			return nil, err
		}
		parent := ec.Inherits
		if parent == "" {
			return out, nil
		}
		path = append(path, parent)
		if err := ValidEnvName(parent); err != nil {
			return nil, fmt.Errorf("%w: .hush/hush.yaml: environment %s inherits from %q, which is not an environment name; fix %s", ErrInheritance, cur, parent, InheritSetting(cur))
		}
		if _, ok := p.Config.Environments[parent]; !ok {
			return nil, fmt.Errorf("%w: .hush/hush.yaml: environment %s inherits from %s, which is not an environment (have: %s); fix %s or add it (hush env add %s)",
				ErrInheritance, cur, parent, strings.Join(p.Config.EnvNames(), ", "), InheritSetting(cur), parent)
		}
		if seen[parent] {
			return nil, fmt.Errorf("%w: .hush/hush.yaml: environments inherit in a cycle (%s); remove one of those inherits", ErrInheritance, strings.Join(path, " -> "))
		}
		seen[parent] = true
		out = append(out, parent)
		cur = parent
	}
}

// checkInherit is CheckSettings(InheritSetting(env)) for a link whose
// value in hush.yaml is parent, without computing every setting of the
// configuration: every read of an environment checks each link of its
// chain, and Settings encodes the whole configuration.
func checkInherit(pf *pinFile, env, parent string) error {
	if !pf.complete() {
		return nil
	}
	key := InheritSetting(env)
	cur, err := canonical(parent)
	if err != nil {
		return err
	}
	if old := pf.Settings[key]; old != cur {
		return &SettingsError{Changes: []SettingChange{{Key: key, Old: old, New: cur}}}
	}
	return nil
}

// Children lists the environments that inherit directly from env, sorted.
func (c *Config) Children(env string) []string {
	var out []string
	for _, n := range c.EnvNames() {
		if e := c.Environments[n]; e != nil && e.Inherits == env {
			out = append(out, n)
		}
	}
	return out
}

// readParent is Read of a parent's team store for a read of env: a failure
// names both, so a member of staging who cannot read dev is told that
// staging's values include dev's (exit 4 still), never handed a partial
// environment.
func (p *Project) readParent(env string, chain []string, i int, id *crypt.Identity) (*Document, error) {
	d, err := p.Read(chain[i], Team, id)
	if err != nil {
		return nil, parentErr(env, chain, i, err)
	}
	return d, nil
}

func parentErr(env string, chain []string, i int, err error) error {
	via := ""
	if i > 0 {
		via = " (through " + strings.Join(chain[:i], ", ") + ")"
	}
	return fmt.Errorf("%s inherits from %s%s, which you cannot read: %w", env, chain[i], via, err)
}

// ReadInherited is ReadKey of env's team store and then of each parent's,
// nearest first: the secret and the environment whose store holds it
// (nil, "" when none does). A parent is decrypted only when env's own
// store lacks the key.
func (p *Project) ReadInherited(env string, id *crypt.Identity, key string) (*Secret, string, error) {
	chain, err := p.Parents(env)
	if err != nil {
		return nil, "", err
	}
	sec, err := p.ReadKey(env, Team, id, key)
	if err != nil || sec != nil {
		return sec, env, err
	}
	for i, parent := range chain {
		sec, err := p.ReadKey(parent, Team, id, key)
		if err != nil {
			return nil, "", parentErr(env, chain, i, err)
		}
		if sec != nil {
			return sec, parent, nil
		}
	}
	return nil, "", nil
}

// layeredTeam is the team stores of env and its parents (chain, from
// Parents) merged, nearest first: each name with the secret of the nearest store holding it, the
// environment of that store, and the environment whose value it hides.
func (p *Project) layeredTeam(env string, chain []string, id *crypt.Identity) (map[string]Entry, error) {
	own, err := p.Read(env, Team, id)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Entry, len(own.Secrets))
	for name, s := range own.Secrets {
		out[name] = Entry{Name: name, Secret: s, Source: Team, Env: env}
	}
	for i := range chain {
		d, err := p.readParent(env, chain, i, id)
		if err != nil {
			return nil, err
		}
		for name, s := range d.Secrets {
			if e, ok := out[name]; ok {
				if e.Overrides == "" {
					e.Overrides = d.Environment
					out[name] = e
				}
				continue
			}
			out[name] = Entry{Name: name, Secret: s, Source: Team, Env: d.Environment}
		}
	}
	return out, nil
}

// TeamLayered is Layered without the personal store: what the team's
// stores give env (hush example describes it).
func (p *Project) TeamLayered(env string, id *crypt.Identity) ([]Entry, error) {
	chain, err := p.Parents(env)
	if err != nil {
		return nil, err
	}
	team, err := p.layeredTeam(env, chain, id)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(team))
	for _, e := range team {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SetInherits makes env inherit from parent ("" for none) in hush.yaml,
// under the project lock, and pins the change: it is the user's own. A
// parent that is not an environment, or one that would close a cycle, is
// refused and nothing is written.
func (p *Project) SetInherits(env, parent string) error {
	return p.withLock(func() error { return p.setInherits(env, parent) })
}

func (p *Project) setInherits(env, parent string) error {
	ec, err := p.Config.Env(env)
	if err != nil {
		return err
	}
	if parent != "" {
		if _, err := p.Config.Env(parent); err != nil {
			return err
		}
		seen := map[string]bool{}
		for cur := parent; cur != "" && !seen[cur]; {
			seen[cur] = true
			if cur == env {
				return fmt.Errorf("%w: %s cannot inherit from %s, which inherits from %s: that is a cycle", ErrInvalid, env, parent, env)
			}
			next, ok := p.Config.Environments[cur]
			if !ok || next == nil {
				break
			}
			cur = next.Inherits
		}
	}
	old := ec.Inherits
	ec.Inherits = parent
	if err := p.SaveConfig(); err != nil {
		ec.Inherits = old
		p.touchConfig()
		return err
	}
	return nil
}

// LayeredTeam is the team stores of env and the environments it inherits
// from, by key, nearest first, without the personal store: what a copy of
// env kept elsewhere (CI variables) should hold.
func (p *Project) LayeredTeam(env string, id *crypt.Identity) (map[string]Entry, error) {
	chain, err := p.Parents(env)
	if err != nil {
		return nil, err
	}
	return p.layeredTeam(env, chain, id)
}
